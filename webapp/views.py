"""The pages: search (`/`, `/search`), article pages, and friendly error pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from . import archive_of
from .params import search_request_from

pages = Blueprint("pages", __name__)


@pages.app_template_global()
def search_url(**changes: object) -> str:
    """Return the current search URL with some parameters changed (None removes one).

    Any change other than the page number goes back to page 1.
    """
    args = request.args.to_dict()
    if "page" not in changes:
        args.pop("page", None)
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = str(value)
    return url_for("pages.search", **args)


@pages.app_template_global()
def live(url: str) -> Markup:
    """Return the htmx attributes that load `url` into the results without a page load."""
    return Markup(
        f'hx-get="{escape(url)}" hx-target="#results" hx-swap="outerHTML" '
        'hx-replace-url="true" hx-sync="#q:replace"'
    )


@pages.get("/")
@pages.get("/search")
def search():
    """Show the search page with results for `q`."""
    search_request = search_request_from(
        request.args, current_app.config["PAGE_SIZE"], lenient=True
    )
    page = archive_of(current_app).search(search_request)
    query = search_request.query
    partial = bool(request.headers.get("HX-Request"))
    template = "_results.html" if partial else "search.html"
    response = make_response(render_template(template, page=page, query=query, partial=partial))
    response.vary.add("HX-Request")
    return response


@pages.get("/articles/<path:article_id>")
def article(article_id: str):
    """Show one article: digest on top, then every paragraph, numbered and anchored."""
    archive = archive_of(current_app)
    stored = archive.get(article_id)
    if stored is None:
        abort(404, description=f"There is no article with the id “{article_id}”.")
    query = request.args.get("q", "")
    paragraphs_html, digest_html = archive.highlight(stored, query)
    return render_template(
        "article.html",
        stored=stored,
        article=stored.article,
        query=query,
        paragraphs_html=paragraphs_html,
        digest_html=digest_html,
    )


def register_error_pages(app: Flask) -> None:
    """Render HTTP errors as pages in the site's layout."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413:
            error.description = (
                f"That upload is larger than {app.config['MAX_UPLOAD_MB']} MB, the most this "
                "Precis accepts at once. Send fewer or smaller files."
            )
        elif error.code == 500:
            error.description = (
                "Something went wrong on our side; the problem has been logged. "
                "Your archive is safe: try again, or go back to the search."
            )
        if request.path.startswith("/api/"):
            return {"error": error.description, "status": error.code}, error.code
        return render_template("error.html", error=error), error.code
