"""The JSON API: `/api/search` and `/api/articles/<id>`, the same data the pages show."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, current_app, request

from . import archive_of

api = Blueprint("api", __name__, url_prefix="/api")
MAX_PER_PAGE = 100


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, description=f"{name} must be a whole number")
    if not low <= value <= high:
        abort(400, description=f"{name} must be between {low} and {high}")
    return value


@api.get("/search")
def search():
    """Return a page of results as JSON."""
    page_number = _int_arg("page", 1, 1, 1000)
    per_page = _int_arg("per_page", current_app.config["PAGE_SIZE"], 1, MAX_PER_PAGE)
    page = archive_of(current_app).search(
        request.args.get("q", ""), page=page_number, per_page=per_page
    )
    return {
        "query": page.query,
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "message": page.message,
        "results": [asdict(result) for result in page.results],
    }


@api.get("/articles/<path:article_id>")
def article(article_id: str):
    """Return one article with its paragraphs and digest."""
    stored = archive_of(current_app).get(article_id)
    if stored is None:
        abort(404, description=f"no article with id {article_id!r}")
    return {
        **asdict(stored.article),
        "digest": [asdict(s) for s in stored.digest.sentences],
        "ingested_at": stored.ingested_at,
    }
