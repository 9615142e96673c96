"""The JSON API: `/api/search` and `/api/articles/<id>`, the same data the pages show."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from index.briefing import brief

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


@api.get("/articles/<path:article_id>")
def article(article_id: str):
    """Return one article with its paragraphs and digest."""
    stored = archive_of(current_app).get(article_id)
    if stored is None:
        abort(404, description=f"no article with id {article_id!r}")
    return stored.public_record()
