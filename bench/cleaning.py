"""Precision and recall of the cleaning stage on Precis's newsroom test corpus.

`python bench/cleaning.py` reads every file of `tests/fixtures/newsroom/` named in its
`expected.json` (original copy written for Precis: wire services and papers in all six
input formats) the way ingest does, and compares each article with what a careful editor
would keep: its body paragraphs, its author and its dateline.

A *removal* is a paragraph (or the byline or dateline prefix of the first paragraph)
that should leave the body. It is found when it is no longer in the body; a body
paragraph that is missing or changed counts as a wrong removal. Precision is found
removals over found plus wrong ones, recall found removals over all that should go.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.formats import read_path  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
# The corpus the rules were written against, and one written without seeing them.
CORPORA = (FIXTURES / "newsroom", FIXTURES / "newsroom-heldout")


@dataclass
class Tally:
    """Counts for one group of articles (a format, or all of them)."""

    articles: int = 0
    found: int = 0  # removals made
    missed: int = 0  # removals not made
    wrong: int = 0  # body paragraphs lost or changed
    authors: int = 0  # authors right
    datelines: int = 0  # datelines right
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("articles", "found", "missed", "wrong", "authors", "datelines"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems

    @property
    def precision(self) -> float:
        return self.found / max(1, self.found + self.wrong)

    @property
    def recall(self) -> float:
        return self.found / max(1, self.found + self.missed)


def score_article(expected: dict, article) -> Tally:
    """Compare one parsed article with what the corpus expects of it."""
    tally = Tally(articles=1)
    name = f"{expected['file']}{'#' + expected['id'] if expected['id'] else ''}"
    body = article.paragraphs
    for paragraph in expected["body"]:
        if paragraph not in body:
            tally.wrong += 1
            tally.problems.append(f"{name}: lost or changed: {paragraph[:90]!r}")
    for removal in expected["removed"]:
        still = any(p == removal or p.startswith(removal + " ") for p in body)
        if still:
            tally.missed += 1
            tally.problems.append(f"{name}: kept: {removal[:90]!r}")
        else:
            tally.found += 1
    if article.author == expected["author"]:
        tally.authors += 1
    else:
        tally.problems.append(f"{name}: author {article.author!r}, expected {expected['author']!r}")
    if article.dateline == expected["dateline"]:
        tally.datelines += 1
    else:
        tally.problems.append(
            f"{name}: dateline {article.dateline!r}, expected {expected['dateline']!r}"
        )
    return tally


def run(corpus: Path) -> dict[str, Tally]:
    """Score every article of the corpus; tallies per input format and for all."""
    expected = json.loads((corpus / "expected.json").read_text(encoding="utf-8"))
    parsed: dict[str, list] = {}
    tallies: dict[str, Tally] = defaultdict(Tally)
    for item in expected:
        if item["file"] not in parsed:
            parsed[item["file"]] = read_path(corpus / item["file"]).articles
        articles = parsed[item["file"]]
        matches = [a for a in articles if item["id"] is None or a.id == item["id"]]
        fmt = Path(item["file"]).suffix.lstrip(".")
        if len(matches) != 1:
            tallies[fmt].problems.append(f"{item['file']}: {item['id']} not read")
            continue
        tallies[fmt].add(score_article(item, matches[0]))
    total = Tally()
    for tally in list(tallies.values()):
        total.add(tally)
    tallies["all"] = total
    return dict(tallies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append", help="a corpus folder")
    parser.add_argument("--problems", action="store_true", help="list every miss")
    args = parser.parse_args()
    for corpus in args.corpus or CORPORA:
        report(corpus, args.problems)


def report(corpus: Path, show_problems: bool) -> None:
    tallies = run(corpus)
    print(f"\nCleaning on {corpus.name}\n")
    print(
        "| format | articles | removals found | missed | body paragraphs lost | precision "
        "| recall | authors right | datelines right |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for fmt in ("txt", "md", "html", "json", "jsonl", "csv", "all"):
        t = tallies.get(fmt)
        if t is None:
            continue
        print(
            f"| {fmt} | {t.articles} | {t.found} | {t.missed} | {t.wrong} | {t.precision:.3f} "
            f"| {t.recall:.3f} | {t.authors}/{t.articles} | {t.datelines}/{t.articles} |"
        )
    problems = tallies["all"].problems
    if problems and show_problems:
        print("\nProblems:")
        for line in problems:
            print(f"- {line}")
    elif problems:
        print(f"\n{len(problems)} problems; --problems lists them")


if __name__ == "__main__":
    main()
