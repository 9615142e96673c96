"""Benchmark: ingest the BBC News Summary set, against the bare Whoosh writer in the same run.

Measures, on ../shared/data/bbc-news-summary/bbc_news_summary.jsonl (2,225 articles):

- the baseline: one plain Whoosh writer adding the same paragraphs with the same
  analyzer, no digests, no article records;
- `precis ingest` (through `ingest_paths`) with 1 and with 2 digest workers;
- a second, unchanged run (what a re-ingest costs);

and prints a Markdown table of seconds, ratio to the baseline and index size.

    python bench/ingest.py [--data PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from whoosh.fields import ID, NUMERIC, TEXT, Schema  # noqa: E402
from whoosh.index import create_in  # noqa: E402

from index.ingest import ingest_paths  # noqa: E402
from index.whoosh_backend import WhooshArchive  # noqa: E402
from index.whoosh_backend.schema import ANALYZER  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/bbc-news-summary"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bare_whoosh(source: Path, target: Path) -> float:
    """Index every paragraph with one plain Whoosh writer; return the seconds taken."""
    started = time.perf_counter()
    schema = Schema(
        article=ID(stored=True, sortable=True),
        para=NUMERIC(stored=True, sortable=True),
        text=TEXT(analyzer=ANALYZER, stored=True, phrase=True),
        title=TEXT(analyzer=ANALYZER, stored=True),
    )
    target.mkdir(parents=True)
    writer = create_in(target, schema).writer()
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            for number, paragraph in enumerate(record["paragraphs"]):
                writer.add_document(
                    article=record["id"], para=number, text=paragraph, title=record["title"]
                )
    writer.commit()
    return time.perf_counter() - started


def precis_ingest(source: Path, target: Path, workers: int) -> tuple[float, float, int]:
    """Ingest with Precis; return (first run seconds, unchanged re-run seconds, articles)."""
    archive = WhooshArchive(target, create=True)
    started = time.perf_counter()
    report = ingest_paths(archive, [source], workers=workers)
    first = time.perf_counter() - started
    assert report.ok, report.failed
    started = time.perf_counter()
    again = ingest_paths(archive, [source], workers=workers)
    rerun = time.perf_counter() - started
    assert len(again.unchanged) == len(report.added)
    articles = archive.stats().articles
    archive.close()
    return first, rerun, articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="bbc-news-summary folder")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians reported")
    args = parser.parse_args()
    source = args.data / "bbc_news_summary.jsonl"
    if not source.is_file():
        sys.exit(f"no {source}; pass --data with the bbc-news-summary folder")

    rows: dict[str, list[tuple[float, float, int]]] = {}
    work = Path(tempfile.mkdtemp(prefix="precis-bench-"))
    try:
        for run in range(args.repeat):
            target = work / f"bare{run}"
            rows.setdefault("bare Whoosh writer (baseline)", []).append(
                (bare_whoosh(source, target), 0.0, folder_size(target))
            )
            for workers in (1, 2):
                target = work / f"precis{workers}-{run}"
                first, rerun, _ = precis_ingest(source, target, workers)
                label = f"precis ingest, {workers} digest worker{'s' if workers > 1 else ''}"
                rows.setdefault(label, []).append((first, rerun, folder_size(target)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    baseline = statistics.median(r[0] for r in rows["bare Whoosh writer (baseline)"])
    print(f"Ingest of {source.name} (2,225 articles), median of {args.repeat} run(s), "
          f"{os.cpu_count()} CPUs\n")  # fmt: skip
    print("| run | seconds | x baseline | unchanged re-run (s) | index size (MB) |")
    print("|---|---|---|---|---|")
    for label, results in rows.items():
        seconds = statistics.median(r[0] for r in results)
        rerun = statistics.median(r[1] for r in results)
        size = statistics.median(r[2] for r in results) / 2**20
        print(
            f"| {label} | {seconds:.1f} | {seconds / baseline:.2f} | "
            f"{rerun:.2f} | {size:.1f} |" if rerun else
            f"| {label} | {seconds:.1f} | {seconds / baseline:.2f} | - | {size:.1f} |"
        )  # fmt: skip


if __name__ == "__main__":
    main()
