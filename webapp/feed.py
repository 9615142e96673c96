"""Saved searches as Atom feeds: `/feed.atom?q=…` with the results page's query and filters.

A feed holds the newest `FEED_ENTRIES` articles that match (`sort="date"`, one per story
when `GROUP_VERSIONS` is on), whatever order, page or page size the results page had.
It reads only: it works in a read-only Precis and without a write token.

What the feed says (decided for issue 13):

- The address takes `q`, `from`, `to`, `source`, `category` and `author`; any other
  parameter is ignored. A malformed date, or `from` after `to`, is a 400 with a plain-text
  message: a feed reader shows the status, and a subscription that silently dropped a
  filter (as the lenient results page does) would deliver articles nobody asked for.
- Feed id: the canonical absolute feed address (its parameters in a fixed order), so the
  same query and filters on the same Precis give the same id. Title: `Precis: “QUERY”`
  (or `Precis: newest articles`) followed by the filters; the subtitle carries the
  search's note (e.g. words left out). Links: `self`, and `alternate` to the results
  page of the same search, newest first.
- Entry id: the absolute address of the article's page (stable for an article id; a
  re-ingested article keeps its id and gets a new `updated`). `updated` is the article's
  `ingested_at` (UTC); `published` its date, when it has one. `alternate` links to the
  article page (the query's words highlighted); the original address is added as a `via`
  link only when it is http(s). Summary: the one-sentence digest, as plain text (escaped
  by feedgen). The author and category are given when the article has them.
- Every string passes through `xml_text`, which drops what XML 1.0 forbids (control
  characters, lone surrogates, U+FFFE/U+FFFF) and bidirectional overrides, so no
  archived value can break the feed or spoof a reader's display.
- Feed `updated` and `Last-Modified`: the newest `ingested_at` among the entries; for an
  empty feed the archive's last ingest (or the Unix epoch for an archive never written).
- `ETag`: a strong tag, a hash of the feed's bytes, so it changes exactly when anything
  the feed says changes (an entry, a digest, the host in its links). A request with
  `If-None-Match` or `If-Modified-Since` that still holds gets a 304 with no body, through
  werkzeug's `make_conditional` (`If-None-Match` wins when both are sent). The search
  still runs for a 304: what is saved is the transfer. `Cache-Control: no-cache`: readers
  may keep the feed but revalidate each time.
- Limits: `Last-Modified` has one-second precision, so a reader that only sends
  `If-Modified-Since` can miss an ingest in the same second as its last fetch, or an
  article deleted from the feed, until the next change; readers that send the ETag can't.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time
from urllib.parse import quote, urlencode, urljoin

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, current_app, request, url_for

from index.articles import safe_url
from index.models import ArticleResult, SearchRequest, StoredArticle

from . import archive_of
from .params import BadSearch, search_request_from

feeds = Blueprint("feeds", __name__)

FEED_ENTRIES = 50  # the newest articles a feed holds
FEED_TYPE = "application/atom+xml"
# The parameters a feed address takes, in the order its canonical form lists them.
FEED_PARAMETERS = ("q", "source", "category", "author", "from", "to")
TITLE_QUERY_CHARS = 200  # a longer query is cut short in the feed's title
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Everything XML 1.0 does not allow in a document (C0 controls but tab, line feed and
# carriage return; lone surrogates; U+FFFE and U+FFFF), and the bidirectional embedding,
# override and isolate controls, which could reorder what a feed reader shows.
_NOT_XML = re.compile(
    "[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u202a-\u202e\u2066-\u2069]"
)


def xml_text(value: str) -> str:
    """Return `value` without the characters XML 1.0 forbids or that reorder text."""
    return _NOT_XML.sub("", value)


def feed_args(search: SearchRequest) -> dict[str, str]:
    """The feed parameters of a search (its query and filters), in canonical order."""
    values = {
        "q": search.query,
        "source": search.source,
        "category": search.category,
        "author": search.author,
        "from": search.date_from,
        "to": search.date_to,
    }
    return {name: values[name] for name in FEED_PARAMETERS if values[name]}


@feeds.app_template_global()
def feed_url(search: SearchRequest, external: bool = False) -> str:
    """Return the address of the Atom feed of `search`'s query and filters."""
    return url_for("feeds.feed", _external=external, **feed_args(search))


@feeds.app_template_global()
def feed_title(search: SearchRequest) -> str:
    """`Precis: “QUERY”` (or `Precis: newest articles`), then the filters by name."""
    query = " ".join(search.query.split())
    if len(query) > TITLE_QUERY_CHARS:
        query = query[:TITLE_QUERY_CHARS].rstrip() + "…"
    title = f"Precis: “{query}”" if query else "Precis: newest articles"
    filters = [
        f"{label} {value}"
        for label, value in (
            ("source", search.source),
            ("category", search.category),
            ("author", search.author),
            ("from", search.date_from),
            ("to", search.date_to),
        )
        if value
    ]
    return " · ".join([title, *filters])


def _utc(timestamp: str) -> datetime | None:
    """Read an ISO 8601 timestamp as UTC (a naive one is taken to be UTC); None if bad."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _day(value: str) -> datetime | None:
    """An article's ISO day as midnight UTC; None when it has none or it can't be read."""
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _absolute(path: str) -> str:
    return urljoin(request.host_url, path)


def _article_page(article_id: str, query: str = "") -> str:
    """The absolute address of an article's page (the id percent-encoded whole, as
    `views.article_url` does), highlighting `query`."""
    url = url_for("pages.article", article_id="x", _external=True)[: -len("x")]
    url += quote(article_id, safe="")
    return url + ("?" + urlencode({"q": query}) if query else "")


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status, content_type="text/plain; charset=utf-8")


class _EntryLinks(BaseEntryExtension):
    """Give an entry's `<link>` elements their `rel`, `type` and `title`.

    feedgen 1.0.0 writes entry links with only their `href` (it reads the other fields
    back from the new element rather than from the link's data), so every link would
    read as rel="alternate". Registered on each entry, this sets them from the entry's
    own link data, in the order feedgen wrote the elements.
    """

    def __init__(self) -> None:
        self.entry: FeedEntry | None = None

    def extend_atom(self, entry):
        links = self.entry.link() if self.entry is not None else []
        for element, link in zip(entry.findall("link"), links, strict=True):
            for name in ("rel", "type", "title"):
                if link.get(name):
                    element.set(name, link[name])
        return entry


def _add_entry(
    feed: FeedGenerator, result: ArticleResult, stored: StoredArticle, query: str
) -> datetime:
    """Add one article to the feed; return its `updated` time."""
    article = stored.article
    updated = _utc(stored.ingested_at) or EPOCH
    entry = feed.add_entry(order="append")
    entry.register_extension("precis_links", _EntryLinks, atom=True, rss=False)
    entry.precis_links.entry = entry
    entry.id(xml_text(_article_page(result.id)))
    entry.title(xml_text(result.title).strip() or xml_text(result.id))
    entry.updated(updated)
    published = _day(result.date)
    if published is not None:
        entry.published(published)
    entry.link(href=xml_text(_article_page(result.id, query)), rel="alternate", type="text/html")
    original = xml_text(safe_url(result.url))
    if original:
        entry.link(href=original, rel="via", title="Original")
    summary = xml_text(result.short_digest).strip()
    if summary:
        entry.summary(summary)
    author = xml_text(article.author).strip()
    if author:
        entry.author(name=author)
    category = xml_text(result.category).strip()
    if category:
        entry.category(term=category)
    return updated


@feeds.get("/feed.atom")
def feed():
    """The Atom feed of a search: its newest matching articles, newest first."""
    args = {name: request.args[name] for name in FEED_PARAMETERS if name in request.args}
    try:
        search = search_request_from(args, FEED_ENTRIES, group=current_app.config["GROUP_VERSIONS"])
    except BadSearch as error:
        return _plain(f"This feed's address has a bad parameter: {error}.", 400)
    search = replace(search, sort="date", page=1, per_page=FEED_ENTRIES, typing=False)
    archive = archive_of(current_app)
    page = archive.search(search)
    # A date-sorted search fills no page with partial matches (results "missing" words);
    # should a backend do so, they stay out of the feed: they do not match.
    results = [result for result in page.results if not result.missing][:FEED_ENTRIES]
    records = archive.records([result.id for result in results])

    self_url = xml_text(feed_url(search, external=True))
    atom = FeedGenerator()
    atom.id(self_url)
    atom.title(xml_text(feed_title(search)))
    if page.message:
        atom.subtitle(xml_text(page.message))
    atom.author(name="Precis")
    atom.generator("Precis")
    atom.link(href=self_url, rel="self", type=FEED_TYPE)
    search_page = url_for("pages.search", **feed_args(search), sort="date")
    atom.link(href=xml_text(_absolute(search_page)), rel="alternate", type="text/html")
    newest: datetime | None = None
    for result in results:
        stored = records.get(result.id)
        if stored is None:  # deleted since the search: its page would be a 404
            continue
        updated = _add_entry(atom, result, stored, search.query)
        newest = updated if newest is None else max(newest, updated)
    if newest is None:
        newest = _utc(str(archive.read_meta().get("last_ingest", ""))) or EPOCH
    atom.updated(newest)

    body = atom.atom_str(pretty=True)
    response = Response(body, content_type=f"{FEED_TYPE}; charset=utf-8")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.last_modified = newest
    response.cache_control.no_cache = True
    return response.make_conditional(request)
