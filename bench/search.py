"""Search speed at newsroom scale, beside a lean SQLite FTS5 endpoint in the same run.

Generates a deterministic news-like archive of `--paragraphs` paragraphs (bench/harness.py),
ingests it with `precis ingest` (timed beside a bare Whoosh writer adding the same paragraph
documents with the same schema and analyzer, its peak memory sampled) and into SQLite FTS5
(bench/fts5.py, the same work as Precis's live fragment), and measures, Precis beside FTS5:

- in-process: typed queries (1-3 content words), heavy queries (common words), filtered
  queries (a source, category or date range), page 5, keystrokes (every prefix from two
  letters of 40 queries, the last word being typed) and the empty query;
- HTTP with one client: the live-search fragment for the typed queries and keystrokes
  (as the live page asks for them, with its Precis-Typing header);
- HTTP with 8 and 16 concurrent clients for `--seconds` each: requests/s and errors;
- the server: start to first answer, memory with the index open after the load.

    python bench/search.py [--paragraphs 100000] [--seconds 20] [--work DIR]

The archive and the database are kept in `--work` (default: a folder in /tmp named by
the size) and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fts5  # noqa: E402
from harness import (  # noqa: E402
    CLI,
    COMMON,
    ROOT,
    SOURCES,
    TOPICS,
    Clients,
    Served,
    bench_env,
    free_port,
    get,
    news_articles,
    percentile,
    server_memory,
    serving,
    write_jsonl,
)

from index.models import SearchRequest  # noqa: E402
from index.whoosh_backend import WhooshArchive  # noqa: E402

PARAGRAPHS_PER_ARTICLE = 10  # the generator's average (8-12)
FLATTEN = 50  # Zipf-Mandelbrot offset: the commonest made-up word in ~10% of paragraphs
PART_ARTICLES = 10_000  # articles per generated file (Precis reads files up to 200 MB)
# Given to the server's background warming before measuring (two processes warm at once).
WARMING_SECONDS = 30


def build(work: Path, paragraphs: int, baseline: bool = True) -> dict[str, float]:
    """Make (or reuse) the archive and the FTS5 database; return build figures (kept in
    the work folder, so a later run over the same archive prints them too)."""
    done = work / "built"
    saved = work / "figures.json"
    if done.exists():
        return json.loads(saved.read_text()) if saved.exists() else {}
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    articles = news_articles(max(1, paragraphs // PARAGRAPHS_PER_ARTICLE), flatten=FLATTEN)
    source = work / "articles"  # files of 10,000 articles, as an archive arrives in parts
    source.mkdir()
    for first in range(0, len(articles), PART_ARTICLES):
        write_jsonl(
            source / f"part-{first // PART_ARTICLES:03}.jsonl",
            articles[first : first + PART_ARTICLES],
        )
    figures: dict[str, float] = {}
    if baseline:
        figures["bare Whoosh writer, same schema (s)"] = bare_writer(source, work / "bare")
        shutil.rmtree(work / "bare", ignore_errors=True)
    began = time.perf_counter()
    peak = ingest_watched(source, work / "index")
    figures["precis ingest (s)"] = time.perf_counter() - began
    if baseline:
        figures["ingest / bare writer"] = (
            figures["precis ingest (s)"] / figures["bare Whoosh writer, same schema (s)"]
        )
    figures["ingest peak memory, all processes (MB)"] = peak / 2**20
    figures["index size (MB)"] = folder_size(work / "index") / 2**20
    began = time.perf_counter()
    fts5.build(work / "fts5.sqlite", articles)
    figures["fts5 build (s)"] = time.perf_counter() - began
    saved.write_text(json.dumps(figures))
    done.write_text("ok")
    return figures


def bare_writer(source: Path, target: Path) -> float:
    """The baseline of ingest: one plain Whoosh writer adding the same paragraph documents
    with Precis's own schema and analyzer (no digests, no article records)."""
    from whoosh.index import create_in

    from index.ingest import BATCH_ARTICLES
    from index.whoosh_backend.schema import make_schema, text_field

    started = time.perf_counter()
    target.mkdir(parents=True)
    index = create_in(target, make_schema())
    writer = index.writer(compound=False)  # as Precis writes
    parts = sorted(source.glob("*.jsonl"))
    lines = (line for part in parts for line in part.open(encoding="utf-8"))
    for count, line in enumerate(lines, 1):
        # Committed every BATCH_ARTICLES, as Precis commits: one commit of everything
        # spills Whoosh's sorting pool to disk and took longer than Precis itself.
        if count % BATCH_ARTICLES == 0:
            writer.commit()
            writer = index.writer(compound=False)
        record = json.loads(line)
        field = text_field(record.get("language", "english"))
        for number, paragraph in enumerate(record["paragraphs"]):
            writer.add_document(
                kind="para",
                article=record["id"],
                para=number,
                **{field: paragraph},
                title=record["title"],
                date=record.get("date", ""),
                source=record.get("source", ""),
                category=record.get("category", ""),
                language=record.get("language", "english"),
            )
    writer.commit()
    return time.perf_counter() - started


def ingest_watched(source: Path, index: Path) -> int:
    """`precis ingest` as a user runs it; return its peak resident memory (the CLI and its
    digest workers together, sampled every 0.2 s)."""
    process = subprocess.Popen(
        [*CLI, "ingest", str(source), "--index", str(index), "--no-progress"],
        cwd=ROOT,
        env=bench_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        memory = server_memory(process.pid)
        peak = max(peak, memory.anonymous + memory.files)
        time.sleep(0.2)
    if process.returncode:
        raise SystemExit(f"precis ingest failed: {process.stderr.read()}")
    return peak


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def query_sets(articles: int, seed: int = 5) -> dict[str, list[SearchRequest]]:
    """200 queries: 100 typed, 50 heavy (common words), 50 filtered (a source, category or
    year). A typed query is 1-3 content words taken, in order, from one paragraph of a
    random article of the archive, as a reader recalls a story."""
    rng = random.Random(seed)
    common = set(COMMON)

    def recalled() -> str:
        record = news_articles(1, start=rng.randrange(articles), flatten=FLATTEN)[0]
        words = [
            w.strip(".").lower()
            for w in rng.choice(record["paragraphs"]).split()
            if len(w.strip(".")) >= 4 and w.strip(".").lower() not in common
        ]
        count = min(len(words), rng.randint(1, 3))
        first = rng.randrange(len(words) - count + 1)
        return " ".join(words[first : first + count])

    typed = [SearchRequest(recalled()) for _ in range(100)]
    heavy = [SearchRequest(" ".join(rng.sample(COMMON[:12], rng.randint(1, 2)))) for _ in range(50)]
    filtered = []
    for _ in range(50):
        words = recalled()
        kind = rng.choice(["source", "category", "date"])
        if kind == "source":
            filtered.append(SearchRequest(words, source=rng.choice(SOURCES)))
        elif kind == "category":
            filtered.append(SearchRequest(words, category=rng.choice(sorted(TOPICS))))
        else:
            year = rng.randint(2010, 2024)
            start, end = f"{year}-01-01", f"{year}-12-31"
            filtered.append(SearchRequest(words, date_from=start, date_to=end))
    return {"typed": typed, "heavy": heavy, "filtered": filtered}


def timed(function, items) -> list[float]:
    times = []
    for item in items:
        began = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - began)
    return times


def row(label: str, precis: list[float], baseline: list[float] | None) -> str:
    p50, p95 = statistics.median(precis) * 1000, percentile(precis, 0.95) * 1000
    if not baseline:
        return f"| {label} | {p50:.1f} | {p95:.1f} | - | - | - | - |"
    b50, b95 = statistics.median(baseline) * 1000, percentile(baseline, 0.95) * 1000
    return (
        f"| {label} | {p50:.1f} | {p95:.1f} | {b50:.1f} | {b95:.1f} | "
        f"{p50 / b50:.1f}x | {p95 / b95:.1f}x |"
    )


def fts5_request(request: SearchRequest) -> str:
    return request.query


def in_process(
    work: Path, sets: dict[str, list[SearchRequest]], figures: dict[str, float]
) -> list[str]:
    archive = WhooshArchive(work / "index")
    endpoint = fts5.Endpoint(work / "fts5.sqlite")
    rows = []
    # A fresh process that has not warmed: another 100 typed queries (a different seed).
    cold = query_sets(len(archive.ids()), seed=6)["typed"]
    endpoint.fragment(cold[0].query)
    rows.append(
        row(
            f"in-process, typed, fresh process without warming ({len(cold)})",
            timed(archive.search, cold),
            timed(lambda r: endpoint.fragment(r.query), cold),
        )
    )
    began = time.perf_counter()
    lists = archive.warm()  # what `precis serve` does in the background on start
    figures["warming, in-process (s)"] = time.perf_counter() - began
    figures["postings lists warmed"] = lists
    for request in sets["typed"][:20]:  # warm both
        archive.search(request)
        endpoint.fragment(request.query)
    for name, requests in sets.items():
        precis = timed(archive.search, requests)
        baseline = (
            None if name == "filtered" else timed(lambda r: endpoint.fragment(r.query), requests)
        )
        rows.append(row(f"in-process, {name} ({len(requests)})", precis, baseline))
    page5 = [SearchRequest(r.query, page=5) for r in sets["typed"]]
    rows.append(
        row(
            "in-process, page 5 (100)",
            timed(archive.search, page5),
            timed(lambda r: endpoint.fragment(r.query, page=5), page5),
        )
    )
    typed = [SearchRequest(text, typing=True) for text in keystrokes(sets)]
    rows.append(
        row(
            f"in-process, keystrokes ({len(typed)})",
            timed(archive.search, typed),
            timed(lambda r: endpoint.fragment(r.query), typed),
        )
    )
    empty = [SearchRequest("")] * 30
    rows.append(
        row(
            "in-process, empty query (30)",
            timed(archive.search, empty),
            timed(lambda r: endpoint.fragment(""), empty),
        )
    )
    # Do both find the same articles? Precis widens to any word when no article has them
    # all (and tolerates typos), FTS5 as built here does not: the ratios mean most where
    # the totals agree.
    agree = found_precis = found_fts5 = 0
    for request in sets["typed"]:
        mine = archive.search(request).total
        html = endpoint.fragment(request.query)
        theirs = int(html.split("<p>", 1)[1].split(" ", 1)[0])
        found_precis += mine > 0
        found_fts5 += theirs > 0
        agree += mine == theirs
    rows.append(
        f"| typed queries with results: Precis {found_precis}, FTS5 {found_fts5}; "
        f"same total: {agree} of {len(sets['typed'])} | | | | | | |"
    )
    archive.close()
    return rows


def keystrokes(sets: dict[str, list[SearchRequest]]) -> list[str]:
    typed = []
    for request in sets["typed"][:40]:
        text = request.query
        typed.extend(text[:n] for n in range(2, len(text) + 1) if not text[:n].endswith(" "))
    return typed


def http_one_client(
    precis: Served, baseline: Served, paths: list[str], label: str, typing: bool = False
) -> str:
    headers = {"HX-Request": "true"}
    if typing:  # as static/app.js marks the live page's keystrokes
        headers["Precis-Typing"] = "1"
    a = timed(lambda q: get(precis, "/search?" + urlencode({"q": q}), headers), paths)
    b = timed(lambda q: get(baseline, "/search?" + urlencode({"q": q})), paths)
    return row(f"HTTP 1 client, {label} ({len(paths)})", a, b)


def concurrent(target: Served, clients: int, seconds: float, texts: list[str]) -> tuple:
    def choose(rng: random.Random):
        return "q", "/search?" + urlencode({"q": rng.choice(texts)}), {"HX-Request": "true"}

    pool = Clients(target, choose, clients)
    began = time.perf_counter()
    pool.start()
    time.sleep(seconds)
    pool.finish()
    elapsed = time.perf_counter() - began
    values = pool.all_latencies()
    return len(values) / elapsed, percentile(values, 0.95) * 1000, len(pool.errors)


def children_of(pid: int) -> list[int]:
    """The server's worker processes (its direct children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def serve_fts5(database: Path, port: int) -> None:
    from waitress import serve

    serve(fts5.app(database), host="127.0.0.1", port=port, threads=8, _quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument(
        "--no-baseline-ingest",
        action="store_true",
        help="skip timing the bare Whoosh writer (half an hour at 1,000,000 paragraphs)",
    )
    parser.add_argument("--serve-fts5", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fts5:
        serve_fts5(Path(args.serve_fts5[0]), int(args.serve_fts5[1]))
        return

    work = args.work or Path(f"/tmp/precis-bench-search-{args.paragraphs}-f{FLATTEN}")
    figures = build(work, args.paragraphs, baseline=not args.no_baseline_ingest)
    sets = query_sets(max(1, args.paragraphs // PARAGRAPHS_PER_ARTICLE))
    rows = in_process(work, sets, figures)

    port = free_port()
    fts5_server = subprocess.Popen(
        [sys.executable, __file__, "--serve-fts5", str(work / "fts5.sqlite"), str(port)],
        cwd=ROOT,
    )
    baseline = Served("127.0.0.1", port, fts5_server, work, {}, work)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(baseline, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        began = time.perf_counter()
        with serving(work / "index", bench_env(), work) as precis:
            texts = [r.query for r in sets["typed"]]
            get(precis, "/search?" + urlencode({"q": texts[-1]}), {"HX-Request": "true"})
            figures["server start to first answer (s)"] = time.perf_counter() - began
            time.sleep(WARMING_SECONDS)  # each process warms in the background on start
            for text in texts[:20]:
                get(precis, "/search?" + urlencode({"q": text}), {"HX-Request": "true"})
            rows.append(http_one_client(precis, baseline, texts, "typed"))
            rows.append(
                http_one_client(precis, baseline, keystrokes(sets), "keystrokes", typing=True)
            )
            load = []
            for clients in (8, 16):
                mine = concurrent(precis, clients, args.seconds, texts)
                theirs = concurrent(baseline, clients, args.seconds, texts)
                load.append((clients, mine, theirs))
            memory = server_memory(precis.process.pid)
            processes = len(children_of(precis.process.pid)) or 1
            figures["server processes"] = processes
            figures["server memory, heap, all processes (MB)"] = memory.anonymous / 2**20
            figures["server memory, heap per process (MB)"] = memory.anonymous / processes / 2**20
            figures["server memory, mapped index files (MB)"] = memory.files / 2**20
    finally:
        fts5_server.terminate()
        fts5_server.wait(timeout=30)

    print(f"\nSearch at {args.paragraphs:,} paragraphs ({work}); CLI: {' '.join(CLI[1:])}")
    for name, value in figures.items():
        print(
            f"- {name}: {value:.2f}" if "/" in name or "(s)" in name else f"- {name}: {value:.0f}"
        )
    print("\n| what | Precis p50 (ms) | Precis p95 (ms) | FTS5 p50 (ms) | FTS5 p95 (ms) "
          "| p50 ratio | p95 ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for line in rows:
        print(line)
    print("\n| clients | Precis requests/s | Precis p95 (ms) | errors | FTS5 requests/s "
          "| FTS5 p95 (ms) | errors | throughput ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for clients, (rate, p95, errors), (b_rate, b_p95, b_errors) in load:
        print(
            f"| {clients} | {rate:.1f} | {p95:.1f} | {errors} | {b_rate:.1f} | {b_p95:.1f} "
            f"| {b_errors} | {rate / b_rate:.2f}x |"
        )


if __name__ == "__main__":
    main()
