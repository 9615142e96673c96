"""The array search path (index/tables.py) against Whoosh's own matchers, on real archives
with several segments, replaced and deleted articles: same documents, same scores."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import make_article
from whoosh.query import And, Not, Or, Phrase, Prefix, Term

from index.ingest import store_articles
from index.models import SearchRequest
from index.whoosh_backend import tables
from index.whoosh_backend.schema import WEIGHTING
from index.whoosh_backend.search import _proximity_bonus, clean_query, parse_query, searched_fields
from index.whoosh_backend.tables import evaluate

WORDS = (
    "harbour ferry council vote budget minister election comet telescope library "
    "archive valley school pupils market shares profit bank trade season coach"
).split()


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(count)]


@pytest.fixture
def segmented(archive):
    """120 articles written in four commits (four segments or more), then 20 replaced and
    10 deleted, so that the index has deleted documents in several segments."""
    rng = random.Random(7)
    for batch in range(4):
        store_articles(
            archive,
            [
                make_article(
                    f"a{batch * 30 + n}",
                    title=" ".join(rng.sample(WORDS, 3)),
                    paragraphs=_paragraphs(rng, rng.randint(2, 6)),
                    date=f"20{10 + n % 12}-0{1 + n % 9}-1{n % 10}",
                    source=rng.choice(["Post", "Courier", "Wire"]),
                    category=rng.choice(["local", "sport", "science"]),
                )
                for n in range(30)
            ],
        )
    replaced = [
        make_article(
            f"a{n}", title="Replaced " + WORDS[n % len(WORDS)], paragraphs=_paragraphs(rng, 3)
        )
        for n in range(0, 120, 6)
    ]
    store_articles(archive, replaced)
    with archive.writing():
        archive.write([], delete=[f"a{n}" for n in range(1, 120, 12)])
    return archive


QUERIES = [
    Term("text", "ferri"),
    Term("title", "comet", boost=0.5),
    And([Term("text", "harbour"), Term("text", "vote")]),
    Or([Term("text", "librari"), Term("text", "telescop"), Term("title", "bank")]),
    And([Term("text", "market"), Not(Term("text", "profit"))]),
    And([Or([Term("text", "school"), Term("title", "school", boost=0.5)]), Term("text", "pupil")]),
    Phrase("text", ["minist", "elect"]),
    Prefix("text", "co"),
]


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_evaluate_agrees_with_whoosh(segmented, query):
    with segmented.reading() as snapshot:
        searcher, tables = snapshot.searcher, snapshot.tables
        assert len(searcher.reader().leaf_readers()) >= 2  # several segments
        assert searcher.reader().has_deletions()
        theirs = {
            hit.docnum: hit.score
            for hit in searcher.search(query, limit=None)
            if tables.paragraph[hit.docnum]
        }
        mine = evaluate(tables, searcher, query, WEIGHTING)
    if isinstance(query, And):
        # Whoosh's matcher for a NOT clause scores 1.0 wherever the word is absent: a
        # constant added to every match, which orders nothing; the tables add nothing.
        nots = sum(isinstance(child, Not) for child in query.children())
        theirs = {docnum: score - nots for docnum, score in theirs.items()}
    assert len(mine) > 0
    if isinstance(query, Prefix):
        # A prefix's words are scored by BM25 and added up; Whoosh scores them 1.0 with few
        # words and by BM25 with many, so only the documents are compared.
        assert set(mine.docs.tolist()) == set(theirs)
        return
    assert dict(zip(mine.docs.tolist(), mine.scores.tolist(), strict=True)) == pytest.approx(theirs)


PAIRS = [("ferri", "council"), ("council", "vote"), ("market", "bank")]


def bonus_of_every_paragraph(snapshot) -> dict[int, float]:
    candidates = np.flatnonzero(snapshot.tables.paragraph).tolist()
    return _proximity_bonus(snapshot.searcher, snapshot.tables, PAIRS, candidates)


def test_proximity_bonus_is_what_a_sloppy_phrase_scores(segmented):
    with segmented.reading() as snapshot:
        mine = bonus_of_every_paragraph(snapshot)
        theirs: dict[int, float] = {}
        for a, b in PAIRS:
            for hit in snapshot.searcher.search(Phrase("text", [a, b], slop=6), limit=None):
                theirs[hit.docnum] = theirs.get(hit.docnum, 0.0) + 0.15 * hit.score
    assert mine and mine == pytest.approx(theirs)


def test_counts_and_facets_follow_every_generation(segmented):
    before = segmented.search("ferry")
    with segmented.reading() as pinned:  # a reader pinned to this generation...
        store_articles(
            segmented,
            [make_article("late-ferry", title="Late ferry", source="Post", category="local")],
        )
        # ...keeps its counts while the writer commits
        assert segmented.search("ferry").total == before.total
        assert pinned.tables.generation == pinned.searcher.reader().generation()
    after = segmented.search("ferry")
    assert after.total == before.total + 1
    assert "late-ferry" in [r.id for r in segmented.search("late ferry").results]
    local = {f.value: f.count for f in after.facets["category"]}["local"]
    assert local == 1 + {f.value: f.count for f in before.facets["category"]}.get("local", 0)


def test_deleted_and_replaced_articles_are_never_counted(segmented):
    gone = segmented.search("", per_page=100)
    ids = {r.id for r in gone.results}
    assert gone.total == 110 and len(ids) == 100
    assert not {f"a{n}" for n in range(1, 120, 12)} & ids
    replaced = segmented.search("Replaced")
    assert replaced.total == len({n for n in range(0, 120, 6)} - set(range(1, 120, 12)))
    page = segmented.search(SearchRequest("telescope", per_page=100))
    for result in page.results:
        stored = segmented.get(result.id)
        assert stored is not None
        for hit in result.hits:  # the word is in the paragraph, or in the headline
            shown = stored.article.paragraphs[hit.paragraph] + " " + stored.article.title
            assert "telescope" in shown.lower()


def test_queries_parse_to_what_the_tables_evaluate(segmented):
    # The page's own parse, run through both: the totals agree with Whoosh's matcher.
    with segmented.reading() as snapshot:
        searcher, tables = snapshot.searcher, snapshot.tables
        for text in ("ferry council", "comet OR bank", '"minister election"', "market -profit"):
            query = parse_query(clean_query(text), fields=searched_fields(searcher))
            theirs = {
                int(tables.doc_article[n]) for n in query.docs(searcher) if tables.paragraph[n]
            }
            mine = set(tables.articles_of(evaluate(tables, searcher, query, WEIGHTING).docs))
            assert mine == theirs and mine


def test_positions_decoded_while_warming_give_the_same_proximity(segmented):
    with segmented.reading() as snapshot:
        before = bonus_of_every_paragraph(snapshot)
        cache = tables.SegmentPostings(budget=2**24)
        original, tables.SEGMENT_POSTINGS = tables.SEGMENT_POSTINGS, cache
        try:
            cache.warm(snapshot.searcher.reader(), ("text",), least=1)
            leaf = snapshot.searcher.reader().leaf_readers()[0][0]
            assert cache.positions_of(leaf, "text", "ferri") is not None
            after = bonus_of_every_paragraph(snapshot)
        finally:
            tables.SEGMENT_POSTINGS = original
    assert before and after == pytest.approx(before)


def test_warming_reads_the_longest_lists_and_changes_no_answer(segmented):
    queries = ["ferry council", "comet OR bank", "market -profit", "Replaced"]
    before = [segmented.search(q).to_json() for q in queries]
    used = tables.SEGMENT_POSTINGS.used
    assert segmented.warm(least=3) > 0
    assert tables.SEGMENT_POSTINGS.used > used
    assert [segmented.search(q).to_json() for q in queries] == before


def test_the_segment_cache_keeps_to_its_budget(segmented):
    cache = tables.SegmentPostings(budget=2_000)
    with segmented.reading() as snapshot:
        reader = snapshot.searcher.reader()
        cache.warm(reader, ("text", "title"), least=1)
        assert 0 < cache.used <= 2_000
        leaf = reader.leaf_readers()[0][0]
        ids, weights, _ = cache.get(leaf, "text", "ferri")
        theirs = list(leaf.postings("text", "ferri").all_ids())
        assert set(theirs) <= set(ids.tolist())  # the raw list also holds deleted ones
