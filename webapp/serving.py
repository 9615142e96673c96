"""Serving Precis to many readers: waitress worker processes over one listening socket.

Why this shape:

- **waitress reads requests asynchronously.** Its main loop buffers each request's
  headers and body before a worker thread sees it, so a client that trickles bytes (or
  never finishes) costs a socket, not a thread. gunicorn's sync and threaded workers give
  each connection a thread or process from its first byte and are starved by slow
  clients unless a buffering proxy sits in front.
- **one Python process runs on one core**, so `precis serve` forks `processes` copies
  of the server (one per core by default) that accept from the same socket. Each keeps
  its own index snapshots; the archive is safe to read from many processes.
- **limits**: at most `max_connections` connections per process, idle ones closed after
  `client_timeout` seconds, bodies over the upload limit refused by waitress before they
  are stored, and a write to the API that asks `Expect: 100-continue` without the write
  token refused before the client sends its body.

The parent only supervises: it restarts a process that dies, and stops them all on
SIGTERM or Ctrl-C. The children die with it even when it is killed outright.
"""

from __future__ import annotations

import html
import json
import os
import resource
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import Error

from index.lifetime import die_with_parent

from .security import SECURITY_HEADERS, token_matches_config, writes_enabled_config

RESTARTS_ALLOWED = 5  # a process dying this many times within RESTART_WINDOW stops the server
RESTART_WINDOW = 30.0


@dataclass(frozen=True)
class Limits:
    """How much one server process takes on."""

    threads: int = 4
    max_connections: int = 1000
    client_timeout: int = 30
    max_body_bytes: int = 20 * 2**20


class _Refused(Error):
    """An error waitress answers itself, as JSON with Precis's headers."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason = code, reason

    def to_response(self, ident=None):
        body = json.dumps({"error": self.body, "status": self.code}).encode("utf-8")
        return f"{self.code} {self.reason}", [("Content-Type", "application/json")], body


class _TooLargePage(Error):
    code, reason = 413, "Request Entity Too Large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"That upload is larger than {limit // 2**20} MB, the most this Precis accepts "
            "at once. Send fewer or smaller files."
        )

    def to_response(self, ident=None):
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Upload too large · Precis</title>"
            '<link rel="stylesheet" href="/static/style.css"></head><body><main id="main">'
            f"<h1>Upload too large</h1><p>{html.escape(self.body)}</p>"
            '<p><a href="/add">Back to adding articles</a></p></main></body></html>'
        )
        return (
            f"{self.code} {self.reason}",
            [("Content-Type", "text/html; charset=utf-8")],
            page.encode("utf-8"),
        )


class _ErrorTask(ErrorTask):
    """waitress's own error answers (400, 413, 431...) with the security headers too, and
    an oversized upload from the browser told so on a page rather than in plain text."""

    def execute(self):
        error = self.request.error
        if error.code == 413 and not (self.request.path or "").startswith("/api/"):
            error = _TooLargePage(self.channel.server.adj.max_request_body_size)
        status, headers, body = error.to_response(self.channel.server.adj.ident)
        self.status = status
        self.response_headers.extend(headers)
        self.response_headers.extend(SECURITY_HEADERS.items())
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _ErrorTask

    def send_continue(self):
        # A client that asks before sending its body can be refused before it sends it.
        refusal = self.server.refuse_before_body(self.request)
        if refusal is None:
            super().send_continue()
            return
        self.request.expect_continue = False
        self.request.error = refusal
        self.request.completed = True


class _Server(TcpWSGIServer):
    channel_class = _Channel

    def __init__(self, app: Flask, sock: socket.socket, adjustments: Adjustments) -> None:
        self.flask_app = app
        super().__init__(
            app,
            _sock=sock,
            adj=adjustments,
            bind_socket=False,
            sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()),
        )

    def refuse_before_body(self, request) -> _Refused | None:
        """Refuse a request whose headers already show it can't succeed: a body over the
        limit, or an API write without the write token."""
        if request.content_length > self.adj.max_request_body_size:
            return _Refused(
                413,
                "Request Entity Too Large",
                f"the body is larger than {self.adj.max_request_body_size // 2**20} MB, "
                "the most this Precis accepts at once",
            )
        if request.command not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        if not request.path.startswith("/api/"):
            return None
        config = self.flask_app.config
        if not writes_enabled_config(config):
            return _Refused(403, "Forbidden", "writes are switched off on this Precis")
        scheme, _, token = request.headers.get("AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token_matches_config(config, token.strip()):
            return _Refused(
                401, "Unauthorized", "send the write token as 'Authorization: Bearer <token>'"
            )
        return None


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """Open the listening socket that every server process accepts from."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def _raise_open_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def _run_one(app: Flask, sock: socket.socket, limits: Limits) -> None:
    adjustments = Adjustments(
        threads=limits.threads,
        connection_limit=limits.max_connections,
        channel_timeout=limits.client_timeout,
        cleanup_interval=max(1, min(30, limits.client_timeout // 2)),
        max_request_body_size=limits.max_body_bytes,
        asyncore_use_poll=True,  # select() stops at 1,024 descriptors
        ident="Precis",
    )
    _Server(app, sock, adjustments).run()


def serve(
    app: Flask,
    sock: socket.socket,
    *,
    processes: int,
    limits: Limits,
    say: Callable[[str], None] = print,
) -> int:
    """Serve `app` on `sock` with `processes` server processes; return an exit status."""
    # Connections, plus the index: each thread's searcher opens a few files per segment.
    _raise_open_file_limit(limits.max_connections + 4096)
    if processes <= 1:
        try:
            _run_one(app, sock, limits)
        except KeyboardInterrupt:
            pass
        return 0

    parent = os.getpid()
    children: dict[int, float] = {}
    deaths: list[float] = []
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                die_with_parent(parent)
                _run_one(app, sock, limits)
                status = 0
            finally:
                os._exit(status)
        children[pid] = time.monotonic()

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        _signal_all(children, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(processes):
        spawn()
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        children.pop(pid, None)
        if stopping:
            continue
        now = time.monotonic()
        deaths[:] = [t for t in deaths if now - t < RESTART_WINDOW] + [now]
        if len(deaths) > RESTARTS_ALLOWED:
            say(f"server processes keep dying (last: {_describe(code)}); stopping")
            stopping, status = True, 1
            _signal_all(children, signal.SIGTERM)
            continue
        say(f"server process {pid} ended ({_describe(code)}); starting another")
        spawn()
    return status


def _signal_all(children: Sequence[int] | dict[int, float], signum: int) -> None:
    for pid in list(children):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _describe(code: int) -> str:
    if os.WIFSIGNALED(code):
        return f"signal {os.WTERMSIG(code)}"
    return f"exit status {os.WEXITSTATUS(code)}"


def default_processes() -> int:
    """One server process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
