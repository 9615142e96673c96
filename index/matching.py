"""Which articles a query matches, and how they rank against each other.

A query is a list of *clauses*: each word (with its close spellings), each "phrase",
each `a OR b` group and the word being typed (with its completions), plus exclusions.
Matching is decided per article, not per paragraph:

- **Every clause is required**: an article matches when each clause occurs somewhere
  in it, in one paragraph or spread over several. So a further word never widens the
  results while some article has all of them.
- **Words are dropped, and the reader told**, when no article has them all: first the
  word being typed, then the least informative word (the one in most articles) whose
  removal lets something match, one at a time (Meilisearch's `matchingStrategy`).
- **A long description** (more than DESCRIPTION_CLAUSES clauses, as pasted text is) is
  read as any-word, and the page says so; its count is of the articles with any word.
- **Exclusions** remove every article that has the excluded word or phrase anywhere.

Articles rank by how many of the clauses they hold, then by a score with article-level
evidence: the best paragraph's BM25 (with the proximity bonus), plus a share of each
clause's best paragraph score in the article, so an article whose paragraphs together
hold the words ranks as an article; a further matching paragraph adds a little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh.query import And, Not, Query

from .tables import Matches, Tables, evaluate

DESCRIPTION_CLAUSES = 6  # more clauses than this: a description, read as any-word
EVIDENCE = 0.5  # the weight of each clause's best paragraph beside the best paragraph
EXTRA_PARAGRAPH_BONUS = 0.05  # per further matching paragraph, as a share of the score


@dataclass
class Clause:
    """One required part of a query and where it occurs."""

    label: str  # as the reader wrote it, for the message about dropped words
    matches: Matches
    present: np.ndarray  # per article ordinal: does the clause occur in it?


@dataclass
class Matched:
    """The outcome of matching: the articles, the clauses that decided it, the rest."""

    present: np.ndarray  # per article ordinal: live, not excluded and matching
    clauses: list[Clause]  # every positive clause, kept or dropped
    left_out: list[int]  # the clauses dropped to find something, in the order dropped
    any_word: bool  # a description: any clause was enough

    @property
    def articles(self) -> np.ndarray:
        return np.flatnonzero(self.present).astype(np.int32)

    @property
    def dropped(self) -> list[str]:
        return [self.clauses[n].label for n in self.left_out]

    def kept(self, clause: int) -> bool:
        return clause not in self.left_out


def split_clauses(query: Query) -> tuple[list[Query], list[Query]]:
    """The positive clauses of an all-terms query, and what its NOT clauses exclude."""
    children = list(query.children()) if isinstance(query, And) else [query]
    positives = [child for child in children if not isinstance(child, Not)]
    negatives = [child.query for child in children if isinstance(child, Not)]
    return positives, negatives


def label_of(query: Query, text: str) -> str:
    """The part of the query text a clause was parsed from (its words' extent)."""
    leaves = [query] if query.is_leaf() else list(query.leaves())
    starts = [leaf.startchar for leaf in leaves if getattr(leaf, "startchar", None) is not None]
    ends = [leaf.endchar for leaf in leaves if getattr(leaf, "endchar", None) is not None]
    if starts and ends:
        return text[min(starts) : max(ends)]
    words = [w for leaf in leaves for w in getattr(leaf, "words", [getattr(leaf, "text", "")])]
    return '"' + " ".join(dict.fromkeys(str(w) for w in words)) + '"'


def match(
    tables: Tables,
    searcher,
    weighting,
    positives: list[tuple[str, Query]],
    negatives: list[Query],
    *,
    typed: int | None = None,
) -> Matched:
    """Match articles: every clause of `positives` (label, query) required, clauses
    dropped when no article has them all, any clause enough for a long description.

    `typed` is the index in `positives` of the word being typed, dropped first."""
    live = tables.article_live.copy()
    for negative in negatives:
        excluded = evaluate(tables, searcher, negative, weighting).docs
        live[tables.doc_article[excluded]] = False
    clauses = []
    for label, query in positives:
        found = evaluate(tables, searcher, query, weighting)
        present = np.zeros(len(live), dtype=bool)
        present[tables.doc_article[found.docs]] = True
        clauses.append(Clause(label, found, present & live))
    if len(clauses) > DESCRIPTION_CLAUSES:
        present = np.logical_or.reduce([c.present for c in clauses])
        return Matched(present, clauses, [], any_word=True)

    kept = list(range(len(clauses)))
    dropped: list[int] = []
    present = _every(clauses, kept, live)
    while not present.any() and len(kept) > 1:
        order = sorted(kept, key=lambda i: (i != typed, -int(clauses[i].present.sum()), -i))
        for candidate in order:  # the first whose removal lets something match
            rest = [i for i in kept if i != candidate]
            present = _every(clauses, rest, live)
            if present.any():
                break
        else:  # none alone: leave out the first in that order and go on
            candidate = order[0]
        kept.remove(candidate)
        dropped.append(candidate)
    return Matched(present, clauses, dropped, any_word=False)


def _every(clauses: list[Clause], kept: list[int], live: np.ndarray) -> np.ndarray:
    present = live.copy()
    for i in kept:
        present &= clauses[i].present
    return present


@dataclass
class Ranking:
    """The selected articles' paragraphs and the figures that order the articles."""

    docs: np.ndarray  # matching paragraphs of the selected articles, sorted
    scores: np.ndarray  # each paragraph's summed clause scores
    words: np.ndarray  # per article ordinal: how many clauses it holds
    best: np.ndarray  # per article ordinal: best paragraph score
    spread: np.ndarray  # per article ordinal: sum over clauses of the best paragraph score
    paragraphs: np.ndarray  # per article ordinal: how many paragraphs match

    def score(self, articles: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
        """The article score (see the module docstring), with `best` if given."""
        top = self.best[articles] if best is None else best
        extra = 1 + EXTRA_PARAGRAPH_BONUS * np.maximum(self.paragraphs[articles] - 1, 0)
        return (top + EVIDENCE * self.spread[articles]) * extra

    def order(self, articles: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`articles` best first: more clauses, then a higher score, then by ordinal."""
        return articles[np.lexsort((articles, -scores, -self.words[articles]))]


def ranking(tables: Tables, matched: Matched, selected: np.ndarray) -> Ranking:
    """Gather the paragraphs of the `selected` articles and each article's figures."""
    count = len(matched.present)
    wanted = np.zeros(count, dtype=bool)
    wanted[selected] = True
    words = np.zeros(count, dtype=np.int16)
    spread = np.zeros(count)
    parts_docs, parts_scores = [], []
    for clause in matched.clauses:
        docs, scores = clause.matches.docs, clause.matches.scores
        articles = tables.doc_article[docs]
        keep = wanted[articles]
        docs, scores, articles = docs[keep], scores[keep], articles[keep]
        if not len(docs):
            continue
        words += clause.present & wanted
        best = np.zeros(count)
        np.maximum.at(best, articles, scores)
        spread += best
        parts_docs.append(docs)
        parts_scores.append(scores)
    if not parts_docs:
        empty = np.zeros(0, dtype=np.int32)
        return Ranking(empty, np.zeros(0), words, spread, spread, np.zeros(count, np.int32))
    if len(parts_docs) == 1:
        docs, scores = parts_docs[0], parts_scores[0]
    else:
        docs, where = np.unique(np.concatenate(parts_docs), return_inverse=True)
        scores = np.bincount(where, weights=np.concatenate(parts_scores), minlength=len(docs))
    articles = tables.doc_article[docs]
    best = np.zeros(count)
    np.maximum.at(best, articles, scores)
    paragraphs = np.bincount(articles, minlength=count).astype(np.int32)
    return Ranking(docs.astype(np.int32), scores, words, best, spread, paragraphs)
