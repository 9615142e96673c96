"""Benchmark: search relevance of Precis on two IR test collections, with trec_eval measures.

Measures, for each collection in ../shared/data:

- the TIME collection (time-collection/: 423 TIME magazine articles of 1963, 83 queries), judged
  with qrels.tsv (TIME.REL, the primary figures) and with qrels_rel_all.tsv (TIME.REL.ALL);
- the NPL collection (npl-vaswani/: 11,429 physics abstracts, 93 queries), a non-news sanity
  check with published BM25 figures;

how well Precis ranks: each collection's docs.jsonl is ingested into a fresh temporary archive
with the project's own pipeline (`ingest_paths`, 2 digest workers, timed), every query is run
through `WhooshArchive.search` (the function the web app uses, one result per article), and
the ranked article ids are scored with ir-measures (trec_eval semantics through
pytrec-eval-terrier): MAP, nDCG@10, P@10 and MRR. Queries without judgments in a qrels file are
left out, as trec_eval does; a judged query that returns nothing counts as 0. It prints Markdown
tables next to the BM25 anchor figures quoted in the collections' READMEs, whether the targets
are met, and notes on queries that returned nothing, few results or fell back to any-word mode.

    python bench/relevance.py [--data DIR] [--collection time|npl|all] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import ir_measures  # noqa: E402
from ir_measures import AP, RR, P, nDCG  # noqa: E402

from index.ingest import ingest_paths  # noqa: E402
from index.whoosh_backend import WhooshArchive  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MEASURES = {"MAP": AP, "nDCG@10": nDCG @ 10, "P@10": P @ 10, "MRR": RR}
FALLBACK_PREFIX = "No article has all of these words"
DESCRIPTION_PREFIX = "A long query"
SHORT_PREFIX = "Only "  # fewer articles than a page have every word: the rest fill it

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Target:
    """A figure a row should reach, e.g. MAP >= 0.66."""

    measure: str
    minimum: float


@dataclass(frozen=True)
class Judgments:
    """One qrels file of a collection, with the BM25 anchor quoted for it and its targets."""

    file: str
    anchor: str  # the README's BM25 figures for this qrels file, as text
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class Collection:
    key: str
    name: str
    folder: str
    judgments: tuple[Judgments, ...]


COLLECTIONS = (
    Collection(
        key="time",
        name="TIME",
        folder="time-collection",
        judgments=(
            Judgments(
                "qrels.tsv",
                "0.658 / 0.722 (rank-bm25 default, stop+porter)",
                (Target("MAP", 0.66), Target("nDCG@10", 0.72)),
            ),
            Judgments("qrels_rel_all.tsv", "0.708 / 0.765 (rank-bm25 default, stop+porter)"),
        ),
    ),
    Collection(
        key="npl",
        name="NPL",
        folder="npl-vaswani",
        judgments=(
            Judgments(
                "qrels.tsv",
                "0.298 / 0.454 (rank-bm25 0.9/0.4, stop+porter); "
                "published 0.2856 Anserini, 0.3053 PISA",
                (Target("MAP", 0.30),),
            ),
        ),
    ),
)


@dataclass
class QueryOutcome:
    """What one query returned."""

    qid: str
    results: int
    total: int
    message: str
    rank_scores: bool  # scores tied or rose, so rank-derived scores were used
    duplicates: int


@dataclass
class Outcome:
    """One collection's ingest, run and per-query notes."""

    collection: Collection
    docs: int
    ingest_seconds: float
    run: Run
    queries: list[QueryOutcome] = field(default_factory=list)
    query_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)  # the same queries, a page of 10


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_qrels(path: Path) -> Qrels:
    """Read a TREC qrels file (`qid 0 docid rel`) into {qid: {docid: rel}}."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 4:
                sys.exit(f"{path}:{number}: expected `qid 0 docid rel`, got {line!r}")
            qid, _, docid, rel = parts
            qrels.setdefault(qid, {})[docid] = int(rel)
    return qrels


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile (share in 0..1) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_collection(collection: Collection, folder: Path, limit: int, work: Path) -> Outcome:
    """Ingest the collection into a fresh archive, run every query, return the run."""
    docs_path = folder / "docs.jsonl"
    docs = read_jsonl(docs_path)
    queries = read_jsonl(folder / "queries.jsonl")
    archive = WhooshArchive(work / collection.key, create=True)
    try:
        started = time.perf_counter()
        report = ingest_paths(archive, [docs_path], workers=2)
        ingest_seconds = time.perf_counter() - started
        if not report.ok:
            problems = "; ".join(f"{p.where}: {p.reason}" for p in report.failed[:5])
            sys.exit(f"{collection.name}: ingest reported problems: {problems}")
        articles = archive.stats().articles
        if articles != len(docs) or len(report.added) != len(docs):
            sys.exit(
                f"{collection.name}: {len(docs)} docs but {articles} articles stored "
                f"({len(report.added)} added)"
            )

        outcome = Outcome(collection, len(docs), ingest_seconds, {})
        for query in queries:
            qid, text = str(query["id"]), query["text"]
            started = time.perf_counter()
            page = archive.search(text, per_page=limit)
            outcome.query_ms.append((time.perf_counter() - started) * 1000)
            ranked: list[tuple[str, float]] = []
            seen: set[str] = set()
            for result in page.results:
                if result.id not in seen:
                    seen.add(result.id)
                    ranked.append((result.id, result.score))
            scores = [score for _, score in ranked]
            decreasing = all(a > b for a, b in zip(scores, scores[1:], strict=False))
            if decreasing:
                outcome.run[qid] = dict(ranked)
            else:  # keep Precis's order exactly: trec_eval breaks ties by doc id
                outcome.run[qid] = {
                    doc: float(len(ranked) - n) for n, (doc, _) in enumerate(ranked)
                }
            outcome.queries.append(
                QueryOutcome(
                    qid=qid,
                    results=len(page.results),
                    total=page.total,
                    message=page.message,
                    rank_scores=not decreasing,
                    duplicates=len(page.results) - len(ranked),
                )
            )
        for query in queries:  # what a reader's first page costs
            started = time.perf_counter()
            archive.search(query["text"], per_page=10)
            outcome.page_ms.append((time.perf_counter() - started) * 1000)
    finally:
        archive.close()
    return outcome


def evaluate(qrels: Qrels, run: Run) -> tuple[dict[str, float], int]:
    """Return the aggregate measures and the number of judged queries they average over."""
    judged = {qid: docs for qid, docs in qrels.items() if any(rel > 0 for rel in docs.values())}
    # A query that returned nothing is left out of the run; ir-measures scores it 0.
    run = {qid: docs for qid, docs in run.items() if docs}
    results = ir_measures.pytrec_eval.calc_aggregate(MEASURES.values(), judged, run)
    return {name: float(results[measure]) for name, measure in MEASURES.items()}, len(judged)


def notes(outcome: Outcome, limit: int, qrels_by_file: dict[str, Qrels]) -> list[str]:
    """Plain-language notes on the queries of one collection."""
    name = outcome.collection.name
    lines: list[str] = []
    queries = outcome.queries
    empty = [q.qid for q in queries if q.results == 0]
    if empty:
        lines.append(f"{name}: {len(empty)} queries returned nothing: {', '.join(empty)}")
    expected = min(limit, outcome.docs)
    short = [q for q in queries if 0 < q.results < expected]
    if short:
        counts = [q.results for q in short]
        lines.append(
            f"{name}: {len(short)} of {len(queries)} queries returned fewer than {expected} "
            f"results (min {min(counts)}, median {statistics.median(counts):g})"
        )
    truncated = [q.qid for q in queries if q.results < min(limit, q.total)]
    if truncated:
        lines.append(
            f"{name}: {len(truncated)} queries returned fewer results than their total: "
            f"{', '.join(truncated)}"
        )
    fallback = [q.qid for q in queries if q.message.startswith(FALLBACK_PREFIX)]
    described = [q.qid for q in queries if q.message.startswith(DESCRIPTION_PREFIX)]
    lines.append(
        f"{name}: {len(described)} queries of more than six words were read as descriptions "
        f"(any word); of the others, {len(fallback)} had words left out because no article "
        "has them all, and the rest required every word"
    )
    seen = (FALLBACK_PREFIX, DESCRIPTION_PREFIX, SHORT_PREFIX)
    other = {q.message for q in queries if q.message and not q.message.startswith(seen)}
    for message in sorted(other):
        lines.append(f"{name}: message seen: {message!r}")
    tied = sum(1 for q in queries if q.rank_scores)
    if tied:
        lines.append(f"{name}: {tied} queries had tied scores; rank-derived scores were used")
    duplicated = [q.qid for q in queries if q.duplicates]
    if duplicated:
        lines.append(f"{name}: duplicate article ids in the results of {', '.join(duplicated)}")
    asked = {q.qid for q in queries}
    for file, qrels in qrels_by_file.items():
        unjudged = sorted(asked - set(qrels), key=lambda q: (len(q), q))
        if unjudged:
            lines.append(
                f"{name} {file}: {len(unjudged)} queries have no judgments and are left out: "
                f"{', '.join(unjudged)}"
            )
        unknown = sorted(set(qrels) - asked)
        if unknown:
            lines.append(f"{name} {file}: judgments for unknown queries {', '.join(unknown)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding the collections"
    )
    parser.add_argument("--collection", choices=("time", "npl", "all"), default="all")
    parser.add_argument("--limit", type=int, default=1000, help="results per query")
    args = parser.parse_args()
    if args.limit < 1:
        parser.error("--limit must be at least 1")

    chosen = [c for c in COLLECTIONS if args.collection in ("all", c.key)]
    for collection in chosen:
        folder = args.data / collection.folder
        needed = ["docs.jsonl", "queries.jsonl", *(j.file for j in collection.judgments)]
        missing = [name for name in needed if not (folder / name).is_file()]
        if missing:
            sys.exit(
                f"{collection.name}: missing {', '.join(missing)} in {folder}; "
                "pass --data with the folder that holds time-collection/ and npl-vaswani/"
            )

    rows: list[str] = []
    target_rows: list[str] = []
    timing_rows: list[str] = []
    all_notes: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="precis-relevance-"))
    try:
        for collection in chosen:
            folder = args.data / collection.folder
            outcome = run_collection(collection, folder, args.limit, work)
            median_ms = statistics.median(outcome.query_ms)
            p95_ms = percentile(outcome.query_ms, 0.95)
            timing_rows.append(
                f"| {collection.name} | {outcome.docs} | {outcome.ingest_seconds:.1f} | "
                f"{len(outcome.queries)} | {median_ms:.1f} | {p95_ms:.1f} | "
                f"{statistics.median(outcome.page_ms):.1f} | "
                f"{percentile(outcome.page_ms, 0.95):.1f} |"
            )
            qrels_by_file: dict[str, Qrels] = {}
            for judgments in collection.judgments:
                qrels = read_qrels(folder / judgments.file)
                qrels_by_file[judgments.file] = qrels
                figures, judged = evaluate(qrels, outcome.run)
                rows.append(
                    f"| {collection.name} | {judgments.file} | {figures['MAP']:.3f} | "
                    f"{figures['nDCG@10']:.3f} | {figures['P@10']:.3f} | {figures['MRR']:.3f} | "
                    f"{judged} | {outcome.ingest_seconds:.1f} | {median_ms:.1f} | "
                    f"{p95_ms:.1f} | {judgments.anchor} |"
                )
                for target in judgments.targets:
                    value = figures[target.measure]
                    met = "yes" if value >= target.minimum else "**no**"
                    target_rows.append(
                        f"| {collection.name} {judgments.file} | {target.measure} >= "
                        f"{target.minimum:.2f} | {value:.3f} | {met} |"
                    )
            all_notes.extend(notes(outcome, args.limit, qrels_by_file))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"Relevance of `archive.search` (top {args.limit}), trec_eval measures via ir-measures")
    print(f"{os.cpu_count()} CPUs; ingest with 2 digest workers\n")
    print(
        "| collection | qrels | MAP | nDCG@10 | P@10 | MRR | queries | ingest (s) | "
        "median query (ms) | p95 query (ms) | BM25 anchor MAP / nDCG@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if target_rows:
        print("\n| target | goal | Precis | met |")
        print("|---|---|---|---|")
        print("\n".join(target_rows))
    print(
        "\n| collection | docs | ingest (s) | queries run | top-1000 median (ms) | "
        "top-1000 p95 (ms) | page of 10 median (ms) | page of 10 p95 (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(timing_rows))
    if all_notes:
        print("\nNotes:")
        for line in all_notes:
            print(f"- {line}")


if __name__ == "__main__":
    main()
