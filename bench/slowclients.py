"""Slow clients: do 120 connections that trickle their requests starve normal readers?

Serves generated articles with `precis serve`, then measures 5 normal clients (API
searches and live-search fragments, keep-alive) for `--seconds`, first alone, then while
120 other connections each send part of a request line and one more byte every few
seconds, never finishing (a slowloris). Prints requests/s and p50/p95/p99 for both
phases, the normal clients' errors, and how many slow connections the server still held.

    python bench/slowclients.py [--slow 120] [--clients 5] [--seconds 30]
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Clients, queries, served, summary  # noqa: E402


def trickle(host: str, port: int, count: int, stop: threading.Event, open_count: list[int]) -> None:
    """Hold `count` connections that never finish their request."""
    sockets = []
    for number in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(f"GET /search?q=slow{number} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode())
        sockets.append(sock)
    while not stop.wait(5):
        alive = 0
        for sock in sockets:
            try:
                sock.sendall(b"a")
                alive += 1
            except OSError:
                pass
        open_count.append(alive)
    for sock in sockets:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=120)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    searches = queries(100)

    def choose(rng: random.Random) -> tuple[str, str, dict]:
        query = quote(rng.choice(searches))
        if rng.random() < 0.5:
            return "API search", f"/api/search?q={query}", {}
        return "live fragment", f"/search?q={query}", {"HX-Request": "true"}

    rows = []
    with served(args.articles) as target:
        for phase in ("alone", f"beside {args.slow} slow connections"):
            stop, open_count = threading.Event(), []
            slow = None
            if phase != "alone":
                slow = threading.Thread(
                    target=trickle, args=(target.host, target.port, args.slow, stop, open_count)
                )
                slow.start()
                time.sleep(2)
            clients = Clients(target, choose, args.clients)
            began = time.perf_counter()
            clients.start()
            time.sleep(args.seconds)
            clients.finish()
            elapsed = time.perf_counter() - began
            stop.set()
            if slow:
                slow.join()
            held = f"{min(open_count)}-{max(open_count)}" if open_count else "-"
            rows.append((phase, summary(clients.all_latencies(), elapsed), clients.errors, held))

    print(f"\n{args.clients} normal clients for {args.seconds:.0f} s each phase\n")
    print(
        "| phase | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors | slow connections held |"
    )
    print("|---|---|---|---|---|---|---|")
    for phase, figures, errors, held in rows:
        print(f"| {phase} | {figures} | {len(errors)} | {held} |")


if __name__ == "__main__":
    main()
