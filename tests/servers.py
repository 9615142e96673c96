"""Real Precis processes for tests: `precis serve` on a free loopback port, and the CLI."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "webapp.cli"]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(tmp: Path, **settings: str) -> dict[str, str]:
    """The environment of a Precis process: no developer settings, these ones added."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PRECIS_")}
    env.update(
        PRECIS_CONFIG=str(tmp / "no-config.toml"),
        PRECIS_WORKERS="1",
        PYTHONUNBUFFERED="1",
        **{f"PRECIS_{name.upper()}": value for name, value in settings.items()},
    )
    return env


def precis(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `precis` command line and return what it did."""
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Response:
        """Send one request without a proxy; HTTP errors are returned, not raised."""
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with _OPENER.open(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, dict(error.headers.items()), error.read())

    def get(self, path: str, **options) -> Response:
        return self.request(path, **options)


def _first_line(stream, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


@contextmanager
def serving(index: Path, env: dict[str, str], *, processes: int = 2) -> Iterator[Server]:
    """Run `precis serve` on `index` until the block ends."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="precis-server-")) / "server.log"
    command = [*CLI, "serve", "--index", str(index), "--port", str(port)]
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*command, "--processes", str(processes)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        line = _first_line(process.stdout, timeout=60)
        assert f":{port}/" in line, f"{line!r}\n{log.read_text()}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()}"
            try:
                if server.get("/healthz", timeout=5).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"server never answered:\n{log.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def children_of(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Tell whether `pid` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
