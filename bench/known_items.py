"""Benchmark: finding the article a reader half-remembers (known-item search) on the BBC set.

`bench/known_items.tsv` holds 50 queries written by hand, each describing one article of
the BBC News Summary set (../shared/data/bbc-news-summary/) the way someone who half
remembers it would type it: 3-6 words, headline and body words mixed, some paraphrased,
8 with a typo. No article text is kept in the repository, only the queries and the ids.

The articles are ingested into a fresh temporary archive with Precis's own pipeline, and
each query runs twice through `WhooshArchive.search` (the web app's function): settled,
and as the live page sends it while the last word is still being typed (the query
without its last letter). The baseline, in the same run, is article-level BM25
(rank-bm25's BM25Okapi over each whole article, title and body, with Precis's own
tokeniser, stop words and stemmer), which has no notion of paragraphs, typos or prefixes.

Reported: MRR over the first page (10 results), success@1, @3 and @10, and the queries
whose article is not first for Precis.

    python bench/known_items.py [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from rank_bm25 import BM25Okapi  # noqa: E402

from index.ingest import ingest_paths  # noqa: E402
from index.models import SearchRequest  # noqa: E402
from index.whoosh_backend import WhooshArchive  # noqa: E402
from index.whoosh_backend.schema import ANALYZER  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"
QUERIES = HERE / "known_items.tsv"
PAGE = 10


def tokens(text: str) -> list[str]:
    """Precis's English analysis: words, lower-cased, stop words out, stemmed."""
    return [token.text for token in ANALYZER(text)]


def ranks(found: list[list[str]], targets: list[str]) -> list[int | None]:
    """The 1-based rank of each target in its result list, None if not on the page."""
    return [
        ids.index(target) + 1 if target in ids[:PAGE] else None
        for ids, target in zip(found, targets, strict=True)
    ]


def figures(positions: list[int | None]) -> dict[str, float]:
    count = len(positions)
    return {
        "MRR@10": sum(1 / p for p in positions if p) / count,
        "success@1": sum(1 for p in positions if p == 1) / count,
        "success@3": sum(1 for p in positions if p and p <= 3) / count,
        "success@10": sum(1 for p in positions if p) / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    source = args.data / "bbc-news-summary" / "bbc_news_summary.jsonl"
    if not source.is_file():
        sys.exit(f"missing {source}; pass --data with the folder holding bbc-news-summary/")
    with QUERIES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    queries = [row["query"] for row in rows]
    targets = [row["id"] for row in rows]

    articles = [json.loads(line) for line in source.open(encoding="utf-8")]
    ids = [article["id"] for article in articles]
    missing = set(targets) - set(ids)
    if missing:
        sys.exit(f"known_items.tsv names ids not in the set: {sorted(missing)}")
    bm25 = BM25Okapi(
        [tokens(article["title"] + "\n" + "\n".join(article["paragraphs"])) for article in articles]
    )
    baseline = []
    for query in queries:
        scores = bm25.get_scores(tokens(query))
        order = sorted(range(len(ids)), key=lambda n: (-scores[n], ids[n]))
        baseline.append([ids[n] for n in order[:PAGE] if scores[n] > 0])

    with tempfile.TemporaryDirectory(prefix="precis-known-") as work:
        archive = WhooshArchive(Path(work) / "index", create=True)
        try:
            report = ingest_paths(archive, [source], workers=2)
            if not report.ok:
                sys.exit(f"ingest reported problems: {report.summary()}")
            settled = [[r.id for r in archive.search(q, per_page=PAGE).results] for q in queries]
            typing = [
                [
                    r.id
                    for r in archive.search(
                        SearchRequest(q[:-1], per_page=PAGE, typing=True)
                    ).results
                ]
                for q in queries
            ]
            pages = [archive.search(q, per_page=PAGE) for q in queries]
        finally:
            archive.close()

    runs = {
        "Precis, settled query": ranks(settled, targets),
        "Precis, last letter still to type": ranks(typing, targets),
        "article-level BM25 (rank-bm25)": ranks(baseline, targets),
    }
    print(f"\nKnown items: {len(queries)} hand-written queries over {len(ids):,} BBC articles\n")
    print("| run | MRR@10 | success@1 | success@3 | success@10 |")
    print("|---|---|---|---|---|")
    for name, positions in runs.items():
        f = figures(positions)
        print(
            f"| {name} | {f['MRR@10']:.3f} | {f['success@1']:.2f} | {f['success@3']:.2f} "
            f"| {f['success@10']:.2f} |"
        )
    print("\nQueries whose article is not first for Precis (settled):\n")
    print("| query | article | Precis rank | BM25 rank | message |")
    print("|---|---|---|---|---|")
    precis, theirs = runs["Precis, settled query"], runs["article-level BM25 (rank-bm25)"]
    for n, query in enumerate(queries):
        if precis[n] != 1:
            print(
                f"| {query} | {targets[n]} | {precis[n] or '-'} | {theirs[n] or '-'} "
                f"| {pages[n].message} |"
            )


if __name__ == "__main__":
    main()
