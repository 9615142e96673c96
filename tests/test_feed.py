"""Saved searches as Atom feeds (`/feed.atom`): real archives, the real app, feedparser.

The feeds are read back with feedparser, a well-kept feed parser: `bozo` set means the
document was not well-formed XML or not a feed it could read.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import feedparser
import pytest
from conftest import make_article
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import clean_env, serving

from index.ingest import store_articles
from index.whoosh_backend import WhooshArchive
from webapp import archive_of, create_app
from webapp.security import SECURITY_HEADERS

ATOM = "application/atom+xml; charset=utf-8"
FIRST_DAY = date(2024, 1, 1)
MATCHING = 60  # more than the 50 a feed holds
# Filler words, so that no two generated articles read as versions of one story.
WORDS = (
    "anchor beacon bollard buoy cable cargo channel chart crane crew deck dock draught "
    "engine fender freight galley gangway hatch helm hull jetty keel lantern ledger "
    "lighthouse locker manifest mast mooring net oar pier pilot propeller quay radar "
    "rigging rope rudder sail shipyard slipway stern tide timetable tug valve wake warden "
    "wharf winch yard ticket passenger schedule weather fog gull island ramp"
).split()


def day(n: int) -> str:
    return (FIRST_DAY + timedelta(days=n)).isoformat()


def ferry_article(n: int, **fields):
    """A dated article about the ferry, worded unlike every other one."""
    rng = random.Random(n)
    paragraphs = [
        f"Report {n} on the harbour ferry: " + " ".join(rng.sample(WORDS, 30)) + ".",
        " ".join(rng.sample(WORDS, 30)).capitalize() + ".",
    ]
    fields.setdefault("date", day(n))
    fields.setdefault("category", "odd" if n % 2 else "even")
    fields.setdefault("source", "Gazette" if n % 3 else "Wire")
    return make_article(f"ferry-{n}", f"Ferry report {n}", paragraphs, **fields)


def other_article(n: int):
    """A newer article that does not mention the ferry."""
    return make_article(
        f"other-{n}",
        f"Council budget {n}",
        [f"The council set its budget {n} for the parks and the library on Monday."],
        date=day(MATCHING + 10 + n),
        category="odd",
    )


def parse(response):
    """The response's feed, checked to be a well-formed Atom 1.0 document."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == ATOM
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def ids_of(feed) -> list[str]:
    """The article ids of a feed's entries, read from their ids (article page addresses)."""
    return [unescape(urlsplit(entry.id).path.removeprefix("/articles/")) for entry in feed.entries]


class _Links(HTMLParser):
    """The `href`s of a page's feed links: the toolbar's and the head's."""

    def __init__(self) -> None:
        super().__init__()
        self.toolbar: list[str] = []
        self.head: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("type") != "application/atom+xml":
            return
        if tag == "a" and attributes.get("class") == "feed-link":
            self.toolbar.append(attributes["href"])
        elif tag == "link" and attributes.get("rel") == "alternate":
            self.head.append(attributes["href"])


def feed_links(html: str) -> _Links:
    links = _Links()
    links.feed(html)
    return links


@pytest.fixture(scope="module")
def big_app(tmp_path_factory):
    """An archive with more ferry articles than a feed holds, and newer ones that don't
    match."""
    app = create_app({"INDEX": str(tmp_path_factory.mktemp("big") / "index"), "TESTING": True})
    store_articles(
        archive_of(app),
        [ferry_article(n) for n in range(MATCHING)] + [other_article(n) for n in range(3)],
    )
    return app


@pytest.fixture
def app(index_dir):
    app = create_app({"INDEX": str(index_dir), "TESTING": True})
    store_articles(
        archive_of(app),
        [
            ferry_article(1),
            ferry_article(
                2,
                url="https://news.example/ferry?id=2",
                author="Ann Quay",
                category="transport",
            ),
        ],
    )
    return app


@pytest.fixture
def client(app):
    return app.test_client()


# --- what a feed holds ----------------------------------------------------------------------


def test_a_feed_holds_the_newest_50_matching_articles_newest_first(big_app):
    client = big_app.test_client()
    # Every one of them matches, each as a story of its own.
    assert client.get("/api/search?q=ferry").get_json()["total"] == MATCHING
    feed = parse(client.get("/feed.atom?q=ferry"))
    assert ids_of(feed) == [f"ferry-{n}" for n in range(MATCHING - 1, MATCHING - 51, -1)]
    published = [entry.published for entry in feed.entries]
    assert published == sorted(published, reverse=True)
    assert feed.feed.title == "Precis: “ferry”"


def test_an_empty_query_gives_the_newest_articles(big_app):
    feed = parse(big_app.test_client().get("/feed.atom"))
    assert len(feed.entries) == 50
    assert ids_of(feed)[:4] == ["other-2", "other-1", "other-0", f"ferry-{MATCHING - 1}"]
    assert feed.feed.title == "Precis: newest articles"


def test_filters_are_honoured_and_named(big_app):
    client = big_app.test_client()
    feed = parse(
        client.get(f"/feed.atom?q=ferry&category=odd&source=Wire&from={day(10)}&to={day(40)}")
    )
    expected = [f"ferry-{n}" for n in range(40, 9, -1) if n % 2 and not n % 3]
    assert expected and ids_of(feed) == expected
    assert feed.feed.title == (
        f"Precis: “ferry” · source Wire · category odd · from {day(10)} · to {day(40)}"
    )
    # The same filters without a query: the council's articles are "odd" too.
    feed = parse(client.get("/feed.atom?category=odd"))
    assert ids_of(feed)[:4] == ["other-2", "other-1", "other-0", f"ferry-{MATCHING - 1}"]
    assert all(entry.tags[0].term == "odd" for entry in feed.entries)


def test_a_search_with_no_match_is_a_valid_empty_feed(client):
    feed = parse(client.get("/feed.atom?q=zeppelin"))
    assert feed.entries == []
    assert feed.feed.subtitle == "No article matches that search."
    assert feed.feed.updated  # an empty feed still says when it was updated


def test_an_entry_has_title_dates_links_and_the_one_sentence_digest(app, client):
    response = client.get("/feed.atom?q=ferry")
    feed = parse(response)
    assert ids_of(feed) == ["ferry-2", "ferry-1"]
    entry = feed.entries[0]
    stored = archive_of(app).get("ferry-2")
    assert entry.id == "http://localhost/articles/ferry-2"
    assert entry.title == "Ferry report 2"
    assert entry.published.startswith(day(2))
    assert entry.updated == stored.ingested_at
    assert stored.short_digest and entry.summary == stored.short_digest.text
    assert entry.author == "Ann Quay" and entry.tags[0].term == "transport"
    links = {link.rel: link.href for link in entry.links}
    assert links == {
        "alternate": "http://localhost/articles/ferry-2?q=ferry",
        "via": "https://news.example/ferry?id=2",
    }
    page = client.get(links["alternate"])
    assert page.status_code == 200 and "Ferry report 2" in page.get_data(as_text=True)
    # The first article has no original address: only the link to its page.
    assert [link.rel for link in feed.entries[1].links] == ["alternate"]
    # The feed names itself and the results page of the same search.
    feed_links = {link.rel: link.href for link in feed.feed.links}
    assert feed_links == {
        "self": "http://localhost/feed.atom?q=ferry",
        "alternate": "http://localhost/search?q=ferry&sort=date",
    }
    assert feed.feed.id == "http://localhost/feed.atom?q=ferry"
    assert client.get(feed_links["alternate"]).status_code == 200
    assert feed.feed.updated == stored.ingested_at


def test_an_article_id_with_a_slash_links_to_its_page(app, client):
    store_articles(archive_of(app), [make_article("desk/tram-1", "Tram line opens", date=day(9))])
    entry = parse(client.get("/feed.atom?q=tram")).entries[0]
    assert entry.id == "http://localhost/articles/desk%2Ftram-1"
    page = client.get(entry.link)
    assert page.status_code == 200 and "Tram line opens" in page.get_data(as_text=True)


def test_the_feed_id_is_the_same_for_the_same_search_however_it_is_written(client):
    first = parse(client.get("/feed.atom?q=ferry&category=transport&page=3&sort=relevance"))
    second = parse(client.get("/feed.atom?category=transport&q=ferry"))
    assert first.feed.id == second.feed.id
    assert first.feed.id != parse(client.get("/feed.atom?q=ferry")).feed.id
    assert ids_of(first) == ids_of(second) == ["ferry-2"]


# --- conditional GET --------------------------------------------------------------------------


def test_conditional_get_answers_304_until_the_feed_changes(app, client):
    first = client.get("/feed.atom?q=ferry")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/
    assert first.headers["Cache-Control"] == "no-cache"
    assert client.get("/feed.atom?q=ferry").headers["ETag"] == etag  # the same feed, the same tag

    unchanged = client.get("/feed.atom?q=ferry", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    since = client.get("/feed.atom?q=ferry", headers={"If-Modified-Since": modified})
    assert since.status_code == 304 and since.data == b""
    long_ago = client.get(
        "/feed.atom?q=ferry", headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"}
    )
    assert long_ago.status_code == 200 and long_ago.data == first.data
    # Another search is another feed, with another tag.
    assert client.get("/feed.atom?q=harbour+ferry").headers["ETag"] != etag

    store_articles(archive_of(app), [ferry_article(3)])
    changed = client.get("/feed.atom?q=ferry", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert ids_of(parse(changed)) == ["ferry-3", "ferry-2", "ferry-1"]
    again = client.get("/feed.atom?q=ferry", headers={"If-None-Match": changed.headers["ETag"]})
    assert again.status_code == 304


def test_an_ingest_that_matches_nothing_leaves_the_feed_unchanged(app, client):
    etag = client.get("/feed.atom?q=ferry").headers["ETag"]
    store_articles(archive_of(app), [other_article(1)])
    assert client.get("/feed.atom?q=ferry", headers={"If-None-Match": etag}).status_code == 304
    # A search it does match has changed.
    assert parse(client.get("/feed.atom?q=budget")).entries[0].title == "Council budget 1"


# --- bad parameters, hostile values, writes off ----------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [("from=yesterday", "from"), ("to=2020-13", "to"), (f"from={day(5)}&to={day(1)}", "from")],
)
def test_bad_parameters_get_a_400_in_plain_text(client, query, message):
    response = client.get(f"/feed.atom?q=ferry&{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.startswith("This feed's address has a bad parameter:") and message in text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_parameters_a_feed_does_not_take_are_ignored(client):
    plain = parse(client.get("/feed.atom?q=ferry"))
    odd = parse(client.get("/feed.atom?q=ferry&page=x&per_page=500&sort=random&typing=1"))
    assert ids_of(odd) == ids_of(plain) == ["ferry-2", "ferry-1"]


def test_every_feed_response_carries_the_security_headers(client):
    ok = client.get("/feed.atom?q=ferry")
    not_modified = client.get("/feed.atom?q=ferry", headers={"If-None-Match": ok.headers["ETag"]})
    assert not_modified.status_code == 304
    for response in (ok, not_modified):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value


def test_hostile_values_make_valid_escaped_atom(app, client):
    store_articles(
        archive_of(app),
        [
            make_article(
                "hostile",
                title="<script>alert(1)</script> ]]> \x00\x01\x0b\x0c\x1f\ufffe\u202eevil",
                paragraphs=[
                    "A <b>zeppelin</b> ]]> story with \x02 control characters &amp; more.",
                    "The <i>zeppelin</i> landed at the quay on Friday.",
                ],
                url="javascript:alert(document.domain)",
                category='"&<cat>',
                author="<i>Eve</i>\x07",
                date=day(3),
            )
        ],
    )
    response = client.get("/feed.atom", query_string={"q": "zeppelin ]]> <script>\x01"})
    feed = parse(response)
    body = response.get_data(as_text=True)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\u202e]", body)
    assert "<script" not in body and "<b>" not in body and "<i>" not in body
    assert "javascript:" not in body
    (entry,) = feed.entries
    assert entry.title == "<script>alert(1)</script> ]]> evil"
    stored = archive_of(app).get("hostile")
    assert entry.summary == re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", stored.short_digest.text)
    assert entry.author == "<i>Eve</i>"
    assert entry.tags[0].term == '"&<cat>'
    assert [link.rel for link in entry.links] == ["alternate"]  # no javascript: link
    assert feed.feed.title == "Precis: “zeppelin ]]> <script>”"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.text(max_size=120),
    extra=st.dictionaries(
        st.sampled_from(["source", "category", "author"]), st.text(max_size=12), max_size=3
    ),
)
def test_any_query_and_filter_text_gives_a_valid_feed(client, query, extra):
    parse(client.get("/feed.atom", query_string={"q": query, **extra}))


def test_feeds_work_with_writes_disabled(app, index_dir):
    archive_of(app).close()
    read_only = create_app(
        {"INDEX": str(index_dir), "TESTING": True, "READ_ONLY": True, "WRITE_TOKEN": "secret"}
    )
    client = read_only.test_client()
    refused = client.post(
        "/api/articles",
        headers={"Authorization": "Bearer secret"},
        json={"id": "new", "title": "New ferry", "paragraphs": ["A new ferry."]},
    )
    assert refused.status_code == 403  # writes really are off
    response = client.get("/feed.atom?q=ferry")
    assert ids_of(parse(response)) == ["ferry-2", "ferry-1"]
    again = client.get("/feed.atom?q=ferry", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# --- the results page links to its feed ------------------------------------------------------


def test_the_results_page_links_to_the_feed_of_its_search(big_app):
    client = big_app.test_client()
    search = f"q=ferry&category=odd&from={day(20)}&sort=relevance&page=2&per_page=5"
    links = feed_links(client.get(f"/search?{search}").get_data(as_text=True))
    assert links.toolbar == links.head == [f"/feed.atom?q=ferry&category=odd&from={day(20)}"]
    feed = parse(client.get(links.toolbar[0]))
    api = client.get(f"/api/search?q=ferry&category=odd&from={day(20)}&sort=date&per_page=50")
    assert ids_of(feed) == [result["id"] for result in api.get_json()["results"]]
    # The live page's fragment carries the link too (the head is not swapped).
    fragment = client.get(f"/search?{search}", headers={"HX-Request": "true"})
    assert feed_links(fragment.get_data(as_text=True)).toolbar == links.toolbar


def test_a_filter_the_results_page_ignored_is_not_in_its_feed_link(big_app):
    client = big_app.test_client()
    html = client.get("/search?q=ferry&from=soon&source=Wire").get_data(as_text=True)
    (link,) = feed_links(html).toolbar
    assert link == "/feed.atom?q=ferry&source=Wire"
    assert parse(client.get(link)).entries


# --- over a real server ------------------------------------------------------------------------


def test_a_read_only_server_serves_feeds_with_conditional_get(tmp_path):
    index = tmp_path / "index"
    archive = WhooshArchive(index, create=True)
    store_articles(archive, [ferry_article(1), ferry_article(2)])
    archive.close()
    env = clean_env(tmp_path, read_only="1")
    with serving(index, env, processes=1) as server:
        first = server.get("/feed.atom?q=ferry")
        headers = {name.lower(): value for name, value in first.headers.items()}
        assert first.status == 200 and headers["content-type"] == ATOM
        feed = feedparser.parse(first.body)
        assert feed.bozo == 0 and ids_of(feed) == ["ferry-2", "ferry-1"]
        assert feed.entries[0].link.startswith(server.url + "/articles/ferry-2")
        assert server.get(urlsplit(feed.entries[0].link).path).status == 200
        again = server.get("/feed.atom?q=ferry", headers={"If-None-Match": headers["etag"]})
        assert again.status == 304 and again.body == b""
        since = server.get(
            "/feed.atom?q=ferry", headers={"If-Modified-Since": headers["last-modified"]}
        )
        assert since.status == 304 and since.body == b""
