"""Load test: 16 clients for 5 minutes against `precis serve`, with an ingest every minute.

Builds an archive of generated news-like articles (bench/harness.py), serves it with
`precis serve` (one process per core), and runs HTTP clients on loopback that mix what
readers do: live-search fragments (`HX-Request`, the last word often half typed), article
pages and JSON API searches. Every `--ingest-every` seconds `precis ingest` adds new
articles while the clients go on. Prints requests/s, p50/p95/p99 per kind, errors, and
the server's memory (all its processes) at start, after 1 minute and at the end.

    python bench/loadtest.py [--clients 16] [--minutes 5] [--articles 2000]

The clients run on the same machine as the server, so they take some of its cores: the
figures are what one machine does serving itself, not the server's ceiling.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    Clients,
    get,
    ingest,
    news_articles,
    queries,
    served,
    server_memory,
    serving,
    summary,
    write_jsonl,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--articles", type=int, default=2000, help="articles served at start")
    parser.add_argument("--ingest-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--ingest-size", type=int, default=25, help="articles per ingest")
    parser.add_argument("--processes", type=int, default=0, help="server processes (0: per core)")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="ingest new versions of existing articles (the archive keeps its size) "
        "instead of new articles",
    )
    args = parser.parse_args()

    searches = queries(200)
    ids = [f"bench-{n}" for n in range(args.articles)]

    def choose(rng: random.Random) -> tuple[str, str, dict]:
        roll = rng.random()
        query = rng.choice(searches)
        if roll < 0.5:  # a keystroke of live search: the last word may be half typed
            words = query.split()
            words[-1] = words[-1][: rng.randint(2, len(words[-1]))]
            typed = quote(" ".join(words))
            return "live fragment", f"/search?q={typed}", {"HX-Request": "true"}
        if roll < 0.75:
            article = rng.choice(ids)
            return "article page", f"/articles/{article}?q={quote(query)}", {}
        return "API search", f"/api/search?q={quote(query)}", {}

    duration = args.minutes * 60
    print(f"Building and serving {args.articles:,} articles...", file=sys.stderr)
    with served(args.articles, processes=args.processes) as target:
        ingests: list[str] = []
        stop = threading.Event()

        def keep_ingesting() -> None:
            start = 0 if args.replace else args.articles
            while not stop.wait(args.ingest_every):
                batch = news_articles(args.ingest_size, start=start, seed=10 + start)
                source = write_jsonl(target.work / f"more-{start}.jsonl", batch)
                began = time.perf_counter()
                result = ingest(source, target.index, target.env)
                ingests.append(
                    f"{time.perf_counter() - began:.1f} s: {result.stdout.strip().splitlines()[-1]}"
                )
                start += args.ingest_size

        clients = Clients(target, choose, args.clients)
        memory = {"start": server_memory(target.process.pid)}
        began = time.perf_counter()
        clients.start()
        writer = threading.Thread(target=keep_ingesting, daemon=True)
        writer.start()
        time.sleep(min(60, duration))
        memory["after 1 minute"] = server_memory(target.process.pid)
        time.sleep(max(0.0, duration - 60))
        clients.finish()
        elapsed = time.perf_counter() - began
        memory["end"] = server_memory(target.process.pid)
        stop.set()
        writer.join(timeout=300)
        final_articles = json.loads(get(target, "/healthz")[1])["articles"]
        target.process.terminate()
        target.process.wait(timeout=30)
        # The control: a new server on the final archive, under the same load for a minute.
        # If the long-running server ends near it, its growth is the archive's, not a leak.
        with serving(target.index, target.env, target.work, args.processes) as fresh:
            control = Clients(fresh, choose, args.clients)
            control.start()
            time.sleep(min(60, duration))
            memory["new server on the final archive, after 1 minute"] = server_memory(
                fresh.process.pid
            )
            control.finish()

    print(
        f"\nLoad test: {args.clients} clients for {elapsed / 60:.1f} min on loopback, "
        f"{args.articles:,} articles at start, {len(ingests)} ingests of {args.ingest_size}"
        f"{' replaced' if args.replace else ' new'} articles\n"
    )
    print("| requests | requests/s | p50 (ms) | p95 (ms) | p99 (ms) |")
    print("|---|---|---|---|---|")
    for kind, values in sorted(clients.latencies.items()):
        print(f"| {kind} | {summary(values, elapsed)} |")
    print(f"| **all** | {summary(clients.all_latencies(), elapsed)} |")
    print(f"\nerrors: {len(clients.errors)}; statuses: {dict(clients.statuses)}")
    for error in clients.errors[:10]:
        print(f"  {error}")

    def growth(part: str) -> float:
        warm, end = getattr(memory["after 1 minute"], part), getattr(memory["end"], part)
        return (end - warm) / max(1, warm) * 100

    print(f"control server: {len(control.all_latencies())} requests, {len(control.errors)} errors")
    print("\n| server memory (all processes) | total MB | heap MB | mapped index MB |")
    print("|---|---|---|---|")
    for label, value in memory.items():
        print(
            f"| {label} | {value.total / 2**20:.0f} | {value.anonymous / 2**20:.0f} "
            f"| {value.files / 2**20:.0f} |"
        )
    print(
        f"| growth, 1 minute to end | {growth('total'):+.1f}% | {growth('anonymous'):+.1f}% "
        f"| {growth('files'):+.1f}% |"
    )
    print(f"\narchive: {args.articles:,} articles at start, {final_articles:,} at the end")
    for line in ingests:
        print(f"ingest: {line}")


if __name__ == "__main__":
    main()
