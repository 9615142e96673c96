"""The JSON API: `/api/search` and `/api/articles/<id>`, the same data the pages show."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from index.briefing import brief
from index.related import RELATED, related

from . import archive_of
from .params import BadSearch, search_request_from

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/search")
def search():
    """Return a page of results as JSON; bad parameters get a 400 with a message."""
    try:
        search_request = search_request_from(
            request.args,
            current_app.config["PAGE_SIZE"],
            group=current_app.config["GROUP_VERSIONS"],
        )
    except BadSearch as error:
        abort(400, description=str(error))
    return archive_of(current_app).search(search_request).to_json()


@api.get("/briefing")
def briefing():
    """Return the briefing of a search (same parameters as `/api/search`) as JSON."""
    try:
        search_request = search_request_from(
            request.args,
            current_app.config["PAGE_SIZE"],
            group=current_app.config["GROUP_VERSIONS"],
        )
    except BadSearch as error:
        abort(400, description=str(error))
    return brief(archive_of(current_app), search_request).to_json()


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
    return {"article": article_id, "related": [result_summary(r) for r in found]}


def result_summary(result) -> dict:
    """A related article as the API gives it: what a reader needs to decide to open it."""
    return {
        "id": result.id,
        "title": result.title,
        "date": result.date,
        "source": result.source,
        "category": result.category,
        "url": result.url,
        "short_digest": result.short_digest,
        "score": result.score,
    }


@api.get("/articles/<path:article_id>")
def article(article_id: str):
    """Return one article with its paragraphs and digest."""
    stored = archive_of(current_app).get(article_id)
    if stored is None:
        abort(404, description=f"no article with id {article_id!r}")
    return stored.public_record()
