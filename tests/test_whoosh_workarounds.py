"""The whoosh3 bugs and gaps that `index.whoosh_backend.workarounds` works around are still
there. When one of these tests fails, upstream has fixed the behaviour: remove the
workaround its message names (and this test)."""

from __future__ import annotations

from io import BytesIO

from whoosh.fields import ID, TEXT, Schema
from whoosh.index import create_in
from whoosh.query import Term
from whoosh.reading import IndexReader, MultiReader
from whoosh.scoring import BM25F

SCHEMA = Schema(kind=ID(), article=ID(stored=True), text=TEXT(spelling=True))


def _index(folder, commits: list[list[dict]], **writer_options):
    index = create_in(folder, SCHEMA)
    for documents in commits:
        with index.writer(**writer_options) as writer:
            for document in documents:
                writer.add_document(**document)
    return index


def test_refresh_keeps_the_old_deletions(tmp_path):
    index = _index(tmp_path, [[{"kind": "para", "article": "a", "text": "harbour ferry"}]])
    searcher = index.searcher()
    with index.writer() as writer:  # a second segment, and the first one's document deleted
        writer.delete_by_term("article", "a")
        writer.add_document(kind="para", article="b", text="harbour tug")
    refreshed = searcher.refresh()
    lingering = {hit["article"] for hit in refreshed.search(Term("text", "harbour"))}
    assert "a" in lingering, "whoosh's refresh() now drops deleted documents: remove fresh_searcher"
    with index.searcher() as fresh:
        assert {hit["article"] for hit in fresh.search(Term("text", "harbour"))} == {"b"}
    refreshed.close()  # which closes the segment reader it shares with `searcher`


def test_a_compound_segment_is_copied_into_each_searcher(tmp_path):
    index = _index(tmp_path, [[{"kind": "para", "article": "a", "text": "harbour ferry"}]])
    with index.searcher() as searcher:
        postings = searcher.reader()._terms._postfile
        assert isinstance(postings.file, BytesIO), (
            "whoosh reads compound segments in place now: WRITER_OPTIONS may keep compound "
            "segments (measure the server's memory first)"
        )


def test_bm25f_averages_field_length_over_every_document(tmp_path):
    documents = [
        {"kind": "para", "article": "a", "text": "harbour ferry electric crossing"},
        {"kind": "article", "article": "a"},  # a record: no text
    ]
    index = _index(tmp_path, [documents])
    with index.searcher(weighting=BM25F()) as searcher:
        scorer = BM25F().scorer(searcher, "text", "harbour")
        assert scorer.avgfl == searcher.field_length("text") / searcher.doc_count_all(), (
            "BM25F's average field length changed: check ParagraphBM25.scorer's patch"
        )
        assert scorer.avgfl != searcher.field_length("text") / 1  # what one paragraph gives


def test_the_multi_segment_reader_has_no_fast_terms_within(tmp_path):
    assert MultiReader.terms_within is IndexReader.terms_within, (
        "whoosh's MultiReader has its own terms_within now: workarounds.terms_within and "
        "the hand-made close spellings may go"
    )
    from index.whoosh_backend.workarounds import terms_within

    commits = [
        [{"kind": "para", "article": "a", "text": "harbour ferry"}],
        [{"kind": "para", "article": "b", "text": "harbor fairy"}],
    ]
    index = _index(tmp_path, commits, merge=False)
    with index.searcher() as searcher:
        reader = searcher.reader()
        assert len(list(reader.leaf_readers())) == 2
        assert terms_within(reader, "text", "harbour", 1) == ["harbor", "harbour"]
