"""Search on a real archive: grouping by article, ranking, highlighting, odd input."""

from __future__ import annotations

import pytest
from conftest import make_article

from index.ingest import store_articles


@pytest.fixture
def newsroom(archive):
    store_articles(
        archive,
        [
            make_article(
                "ferry-long",
                title="Ferry week",
                paragraphs=[
                    f"Ferry update number {n}: the ferry ran late again." for n in range(5)
                ],
            ),
            make_article("ferry-short"),
            make_article(
                "library",
                title="Library opens",
                paragraphs=["The new library opens with <script>alert('x')</script> displays."],
            ),
        ],
    )
    return archive


def test_one_result_per_article(newsroom):
    page = newsroom.search("ferry")
    assert page.total == 2
    assert sorted(r.id for r in page.results) == ["ferry-long", "ferry-short"]
    long_result = next(r for r in page.results if r.id == "ferry-long")
    assert len(long_result.hits) == 3  # the best paragraphs, at most three
    assert [h.paragraph for h in long_result.hits] == sorted(h.paragraph for h in long_result.hits)


def test_all_terms_preferred_then_any_term(newsroom):
    both = newsroom.search("ferry passengers")
    assert [r.id for r in both.results] == ["ferry-short"] and not both.message
    either = newsroom.search("library passengers")
    assert either.total == 2
    assert "some of them" in either.message


def test_hits_are_stemmed_and_escaped(newsroom):
    result = newsroom.search("opening library").results[0]
    html = result.hits[0].html
    assert "<mark>opens</mark>" in html and "<mark>library</mark>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_pagination(newsroom):
    first = newsroom.search("ferry", per_page=1)
    second = newsroom.search("ferry", page=2, per_page=1)
    assert first.total == second.total == 2
    assert {first.results[0].id, second.results[0].id} == {"ferry-long", "ferry-short"}


@pytest.mark.parametrize(
    "query",
    ["", "   ", "*", '"unbalanced', "AND", "OR OR", "title:", "-", "x" * 10_000, "\x00\x07",
     "🗞️ news", "שלום", "<script>alert(1)</script>", "'; DROP TABLE articles; --", "(((", "a"],
)  # fmt: skip
def test_odd_queries_never_raise(newsroom, query):
    page = newsroom.search(query)
    assert page.total >= 0
    assert isinstance(page.message, str)
