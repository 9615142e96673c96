"""Which articles a query matches, and how they rank against each other.

A query is a list of *clauses*: each word (with its close spellings), each "phrase",
each `a OR b` group and the word being typed (with its completions), plus exclusions.
Matching is decided per article, not per paragraph:

- **Every clause is required**: an article matches when each clause occurs somewhere
  in it, in one paragraph or spread over several. So a further word never widens the
  results while some article has all of them.
- **Words are dropped, and the reader told**, when no article has them all: as few as
  let something match, and of those the least informative (the word being typed first,
  then the words in most articles), as Meilisearch's `matchingStrategy` does.
- **A long description** (more than DESCRIPTION_WORDS words as typed, little words
  included: a sentence, a pasted summary) is read as any-word, BM25 weighing how many
  of the words each article has; the page says so, and counts articles with any word.
- **Exclusions** remove every article that has the excluded word or phrase anywhere.

Articles rank by how many of the clauses they hold, then by a score with article-level
evidence: the best paragraph's BM25 (with the proximity bonus), plus a share of what the
other paragraphs add (each clause's best paragraph score in the article, summed, beyond
the best paragraph's), so an article whose paragraphs together hold the words ranks as
an article; a further matching paragraph adds a little.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from whoosh.query import And, Not, Query

from .tables import Matches, Tables, evaluate

DESCRIPTION_WORDS = 6  # more words than this (as typed): a description, read as any-word
EVIDENCE = 0.5  # the weight of what other paragraphs add to the best one
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
    words: int = 0,
) -> Matched:
    """Match articles: every clause of `positives` (label, query) required, clauses
    dropped when no article has them all, any clause enough for a long description.

    `typed` is the index in `positives` of the word being typed, dropped first; `words`
    how many words the reader typed (a description has more than DESCRIPTION_WORDS)."""
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
    if max(words, len(clauses)) > DESCRIPTION_WORDS:
        present = np.logical_or.reduce([c.present for c in clauses])
        return Matched(present, clauses, [], any_word=True)

    every = list(range(len(clauses)))
    present = _every(clauses, every, live)
    dropped: list[int] = []
    if not present.any() and len(clauses) > 1:
        dropped, present = _fewest_left_out(clauses, live, typed)
    return Matched(present, clauses, dropped, any_word=False)


def _fewest_left_out(
    clauses: list[Clause], live: np.ndarray, typed: int | None
) -> tuple[list[int], np.ndarray]:
    """Leave out as few clauses as lets some article match; of the ways to do so, the
    one that loses the least information (the word being typed first, then the words in
    most articles: the smallest sum of their IDF; later words before earlier ones)."""
    total = max(1, int(live.sum()))

    def information(n: int) -> float:
        if n == typed:
            return -1.0
        return float(np.log((total + 1) / (int(clauses[n].present.sum()) + 0.5)))

    every = range(len(clauses))
    for count in range(1, len(clauses)):
        best: tuple[tuple[float, tuple[int, ...]], list[int], np.ndarray] | None = None
        for left_out in combinations(every, count):
            present = _every(clauses, [n for n in every if n not in left_out], live)
            if not present.any():
                continue
            key = (sum(information(n) for n in left_out), tuple(-n for n in left_out))
            if best is None or key < best[0]:
                best = (key, sorted(left_out, key=lambda n: (information(n), -n)), present)
        if best is not None:
            return best[1], best[2]
    return list(every), np.zeros_like(live)


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
    any_word: bool = False  # a description: BM25 alone weighs how many words match

    def score(self, articles: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
        """The article score (see the module docstring), with `best` if given."""
        raw = self.best[articles]
        top = raw if best is None else best
        extra = 1 + EXTRA_PARAGRAPH_BONUS * np.maximum(self.paragraphs[articles] - 1, 0)
        # What the other paragraphs add: each clause's best paragraph, beyond the best one.
        beyond = np.maximum(self.spread[articles] - raw, 0.0)
        return (top + EVIDENCE * beyond) * extra

    def order(self, articles: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`articles` best first: more clauses (unless `any_word`), then a higher score,
        then by ordinal."""
        if self.any_word:
            return articles[np.lexsort((articles, -scores))]
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
        no_paragraphs = np.zeros(count, np.int32)
        return Ranking(empty, np.zeros(0), words, spread, spread, no_paragraphs, matched.any_word)
    if len(parts_docs) == 1:
        docs, scores = parts_docs[0], parts_scores[0]
    else:
        docs, where = np.unique(np.concatenate(parts_docs), return_inverse=True)
        scores = np.bincount(where, weights=np.concatenate(parts_scores), minlength=len(docs))
    articles = tables.doc_article[docs]
    best = np.zeros(count)
    np.maximum.at(best, articles, scores)
    paragraphs = np.bincount(articles, minlength=count).astype(np.int32)
    return Ranking(docs.astype(np.int32), scores, words, best, spread, paragraphs, matched.any_word)
