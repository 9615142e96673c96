"""The JSON API: `/api/search` and `/api/articles/<id>`, the same data the pages show.

`/api/search?...&format=csv` or `format=jsonl` streams every match of the search, not
just a page, as a download (see `index.export`).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, request

from index.briefing import brief
from index.export import FORMATS, export, filename
from index.models import SearchRequest
from index.related import RELATED, related, related_json

from . import archive_of, hold_reading
from .params import BadSearch, search_request_from

api = Blueprint("api", __name__, url_prefix="/api")


def _search_request() -> SearchRequest:
    """The search the query string asks for; bad parameters get a 400 with a message."""
    try:
        return search_request_from(
            request.args,
            current_app.config["PAGE_SIZE"],
            group=current_app.config["GROUP_VERSIONS"],
        )
    except BadSearch as error:
        abort(400, description=str(error))


@api.get("/search")
def search():
    """Return a page of results as JSON, or every match as CSV or JSON Lines (`format`);
    bad parameters get a 400 with a message."""
    search_request = _search_request()
    fmt = request.args.get("format", "") or "json"
    if fmt != "json":
        return export_response(search_request, fmt)
    return archive_of(current_app).search(search_request).to_json()


@api.get("/briefing")
def briefing():
    """Return the briefing of a search (same parameters as `/api/search`) as JSON."""
    return brief(archive_of(current_app), _search_request()).to_json()


@api.get("/articles/<path:article_id>/related")
def related_articles(article_id: str):
    """Return the articles most related to one article (`limit`, 1-20, default 5), each
    with its one-sentence digest; its own story's versions are never among them."""
    raw = request.args.get("limit", "") or str(RELATED)
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 20):
        abort(400, description="limit must be a whole number between 1 and 20")
    found = related(
        archive_of(current_app), article_id, int(raw), group=current_app.config["GROUP_VERSIONS"]
    )
    if found is None:
        abort(404, description=f"no article with id {article_id!r}")
    return related_json(article_id, found)


def export_response(search_request: SearchRequest, fmt: str) -> Response:
    """Stream every match of `search_request` as a download in format `fmt`.

    The first match is read before the answer starts, so an archive that can't be read
    gets an error status rather than a cut-off file. The answer is read after the
    request's teardown, so it takes over the request's view of the archive and lets it go,
    after the export's own, when the server closes it (at the end, or when the client goes
    away). No request context is needed while streaming, so none is kept
    (`stream_with_context` would run the teardown a second time at the end).
    """
    if fmt not in FORMATS:
        abort(400, description=f"format must be one of json, {', '.join(FORMATS)}")
    matches = archive_of(current_app).every_match(search_request)
    first = next(matches, None)
    reading = hold_reading()

    def release() -> None:
        try:  # the export's view first, then the request's it is nested in
            close = getattr(matches, "close", None)
            if close is not None:
                close()
        finally:
            reading.close()

    response = Response(export(_chained(first, matches), fmt), content_type=FORMATS[fmt][1])
    response.call_on_close(release)
    name = filename(search_request.query, fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _chained(first, rest) -> Iterator:
    if first is not None:
        yield first
        yield from rest


@api.get("/articles/<path:article_id>")
def article(article_id: str):
    """Return one article with its paragraphs and digest."""
    stored = archive_of(current_app).get(article_id)
    if stored is None:
        abort(404, description=f"no article with id {article_id!r}")
    return stored.public_record()
