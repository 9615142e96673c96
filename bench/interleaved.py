"""In-process search times of one archive, for comparing two versions of Precis in turn.

`bench/search.py` measures each version in its own run, beside FTS5; rows without an FTS5
ratio (filtered queries, the empty query) then move with the machine's load. This script
times one archive with whatever code is on PYTHONPATH, so two versions can be run one after
the other, and again, in the same quiet window:

    PYTHONPATH=<worktree of the old commit> python bench/interleaved.py <old work dir>
    PYTHONPATH=<worktree of the new commit> python bench/interleaved.py <new work dir>

The work dirs are those `bench/search.py --work` built (their `index/`). Each query set of
`bench/search.py` is run once to warm, then three times timed; the empty query 100 times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import query_sets  # noqa: E402

from index.whoosh_backend import WhooshArchive  # noqa: E402


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    return f"{statistics.median(ordered):.2f} / {ordered[int(0.95 * len(ordered))]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="a bench/search.py work folder")
    parser.add_argument("--articles", type=int, default=10_000, help="articles it holds")
    args = parser.parse_args()
    archive = WhooshArchive(args.work / "index")
    archive.warm()
    sets = query_sets(args.articles)
    cells = []
    for name in ("typed", "filtered", "heavy"):
        requests = sets[name]
        for request in requests:
            archive.search(request)
        times = []
        for _ in range(3):
            for request in requests:
                began = time.perf_counter()
                archive.search(request)
                times.append((time.perf_counter() - began) * 1000)
        cells.append(f"{name} {percentiles(times)}")
    empty = []
    for _ in range(100):
        began = time.perf_counter()
        archive.search("")
        empty.append((time.perf_counter() - began) * 1000)
    cells.append(f"empty {percentiles(empty)}")
    print(f"{args.work}: p50 / p95 ms: " + " | ".join(cells))


if __name__ == "__main__":
    main()
