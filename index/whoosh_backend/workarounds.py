"""Every place where Precis works around a bug or a gap of whoosh3 3.54, in one module.

Each workaround has a test in `tests/test_whoosh_workarounds.py` that shows the upstream
behaviour is still there: when a new whoosh3 fixes one, its test fails and says which
workaround can go.

- `fresh_searcher`: `Searcher.refresh()` reuses the old segment readers with their old
  deletion sets, so deleted and replaced articles would linger; a new generation gets a
  new searcher.
- `WRITER_OPTIONS`: a reader maps a compound segment, then copies it into a `BytesIO`
  (`BufferFile`), once per searcher: 83 MB per thread at 100,000 paragraphs. Segments are
  written as separate files, which are read in place.
- `ParagraphBM25`: BM25F divides a field's length by every document (article records
  included) and has no way to be told otherwise, so the average paragraph length is set on
  each scorer it makes; its idf is replaced too (see the class).
- `terms_within`: the multi-segment reader inherits the generic `terms_within`, which
  compares the word with every term of the field; each segment's own reader answers from
  its spelling graph with an automaton. Close spellings are then plain `Term`s joined by
  `Or` (`search._tolerant`) rather than `FuzzyTerm`s, which ask the slow reader.
"""

from __future__ import annotations

import math

from whoosh.scoring import BM25F, BM25FScorer

WRITER_OPTIONS = {"compound": False}


def fresh_searcher(index, weighting):
    """A searcher over the index's newest generation (never `refresh()`, see above)."""
    return index.searcher(weighting=weighting)


class ParagraphBM25(BM25F):
    """BM25 with its statistics taken over paragraph documents only.

    Whoosh's BM25F divides a field's total length by *every* document, article records
    included (which halves the average paragraph length here), and weighs terms with
    idf = log(N / (n + 1)) + 1, which flattens the gap between rare and common words. This
    model counts paragraphs only and uses Robertson and Sparck Jones's idf,
    log((N - n + 0.5) / (n + 0.5)), floored at a small positive weight for words in more
    than half the paragraphs. See docs/benchmarks.md for what each change bought.
    """

    def idf(self, searcher, fieldname: str, text: str) -> float:
        paragraphs = paragraph_count(searcher)
        frequency = searcher.doc_frequency(fieldname, text)
        return max(0.05, math.log((paragraphs - frequency + 0.5) / (frequency + 0.5)))

    def scorer(self, searcher, fieldname: str, text: str, qf: int = 1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(scorer, BM25FScorer):
            parent = searcher.get_parent()
            scorer.avgfl = parent.field_length(fieldname) / paragraph_count(parent) or 1
        return scorer


def paragraph_count(searcher) -> int:
    """Paragraph documents in the searcher's generation (kept on the top searcher)."""
    parent = searcher.get_parent()
    count = getattr(parent, "_precis_paragraphs", None)
    if count is None:
        count = parent._precis_paragraphs = max(1, parent.doc_frequency("kind", "para"))
    return count


def terms_within(reader, fieldname: str, word: str, distance: int) -> list[str]:
    """The field's terms within `distance` edits of `word` (same first letter), asked
    segment by segment (see above)."""
    found: set[str] = set()
    for leaf, _ in reader.leaf_readers():
        found.update(leaf.terms_within(fieldname, word, distance, prefix=1))
    return sorted(found)
