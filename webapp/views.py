"""The pages: search (`/`, `/search`), article pages, and friendly error pages."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote, urlencode

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

from index.archive import ArchiveError
from index.articles import safe_url
from index.briefing import brief
from index.marking import to_html
from index.related import related

from . import archive_of
from .params import search_request_from

pages = Blueprint("pages", __name__)
PARAGRAPHS_PER_PART = 200  # an article page shows at most this many paragraphs at once
TYPING_HEADER = "Precis-Typing"  # sent by static/app.js with the live page's keystrokes
HISTORY_HEADER = "Precis-History"  # "push": static/app.js asks for a new history entry


def part_of(paragraph: int) -> int:
    """The part (page) of an article page that shows paragraph number `paragraph` (0-based)."""
    return paragraph // PARAGRAPHS_PER_PART + 1


@pages.app_template_global()
def article_url(article_id: str, q: str | None = None, paragraph: int | None = None) -> str:
    """Return the link to an article page (at a paragraph, highlighting `q`).

    The id is percent-encoded whole, slashes included, so no id can climb out of
    `/articles/` once a browser resolves the link.
    """
    args: dict[str, object] = {}
    if q:
        args["q"] = q
    if paragraph is not None and part_of(paragraph) > 1:
        args["part"] = part_of(paragraph)
    url = url_for("pages.article", article_id="x")[: -len("x")] + quote(article_id, safe="")
    if args:
        url += "?" + urlencode(args)
    if paragraph is not None:
        url += f"#p-{paragraph + 1}"
    return url


@pages.app_template_global()
def link_of(url: str) -> str:
    """Return `url` if it may become a link (http or https), else ""."""
    return safe_url(url)


@pages.app_template_global()
def search_url(**changes: object) -> str:
    """Return the current search URL with some parameters changed (None removes one).

    Any change other than the page number goes back to page 1.
    """
    args = request.args.to_dict()
    args.pop("typing", None)
    if "page" not in changes:
        args.pop("page", None)
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = str(value)
    return url_for("pages.search", **args)


@pages.app_template_global()
def briefing_url() -> str:
    """The briefing of the current search: its query and filters, not its page."""
    args = request.args.to_dict()
    for name in ("typing", "page", "per_page"):
        args.pop(name, None)
    return url_for("pages.briefing", **args)


@pages.app_template_global()
def export_url(page, fmt: str) -> str:
    """Return the link that downloads every match of the page's search as `fmt` (csv or
    jsonl): the API with the query, filters and sort the page was made from."""
    shown = page.request
    args = {
        "q": shown.query,
        "sort": shown.sort if shown.sort != "relevance" else "",
        "from": shown.date_from,
        "to": shown.date_to,
        "source": shown.source,
        "category": shown.category,
        "author": shown.author,
        # The first rows are the first page (its ranking depends on the page size).
        "per_page": shown.per_page if shown.per_page != current_app.config["PAGE_SIZE"] else "",
        "typing": "1" if shown.typing else "",
        "format": fmt,
    }
    return url_for("api.search", **{name: value for name, value in args.items() if value})


@pages.app_template_global()
def live(url: str) -> Markup:
    """Return the htmx attributes that load `url` into the results without a page load."""
    return Markup(
        f'hx-get="{escape(url)}" hx-target="#results" hx-swap="outerHTML" '
        'hx-push-url="true" hx-sync="#q:replace"'
    )


@pages.get("/")
@pages.get("/search")
def search():
    """Show the search page with results for `q`."""
    search_request = search_request_from(
        request.args,
        current_app.config["PAGE_SIZE"],
        lenient=True,
        group=current_app.config["GROUP_VERSIONS"],
    )
    # htmx asks for the whole page when Back reaches an entry its history cache has lost.
    partial = bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )
    if partial and request.headers.get(TYPING_HEADER) == "1":
        # A keystroke of the live page (static/app.js): the address it puts in the
        # location bar stays free of the flag.
        search_request = replace(search_request, typing=True)
    page = archive_of(current_app).search(search_request)
    query = search_request.query
    template = "_results.html" if partial else "search.html"
    response = make_response(render_template(template, page=page, query=query, partial=partial))
    response.vary.add("HX-Request")
    response.vary.add(TYPING_HEADER)
    response.vary.add("HX-History-Restore-Request")
    response.vary.add(HISTORY_HEADER)
    if partial and request.headers.get(HISTORY_HEADER) == "push":
        # The first keystroke of a new search (static/app.js): a new history entry, which
        # the following keystrokes then only update.
        response.headers["HX-Push-Url"] = request.full_path.rstrip("?")
    return response


@pages.get("/briefing")
def briefing():
    """A briefing across the best matches of a search: loaded into the results page by
    "Brief me" (htmx), or a page of its own without JavaScript."""
    search_request = search_request_from(
        request.args,
        current_app.config["PAGE_SIZE"],
        lenient=True,
        group=current_app.config["GROUP_VERSIONS"],
    )
    found = brief(archive_of(current_app), search_request)
    partial = bool(request.headers.get("HX-Request"))
    template = "_briefing.html" if partial else "briefing.html"
    response = make_response(
        render_template(template, briefing=found, query=search_request.query, partial=partial)
    )
    response.vary.add("HX-Request")
    return response


@pages.app_template_global()
def digest_beside(result) -> list[tuple[object, object]]:
    """The digest sentences (with their marked text) that the result's hits do not
    already show."""
    shown = " ".join(hit.marked.text for hit in result.hits)
    return [
        (sentence, marked)
        for sentence, marked in zip(result.digest, result.digest_marked, strict=False)
        if sentence.text not in shown
    ]


@pages.app_template_filter("marked")
def marked_filter(marked) -> Markup:
    """Render highlighted text: every character escaped, the marks in `<mark>`."""
    return to_html(marked)


@pages.app_template_global()
def bar_height(bar, bars) -> int:
    """A histogram bar's height in percent of the tallest (at least 2, to be seen)."""
    tallest = max((b.count for b in bars), default=0) or 1
    return max(2, round(100 * bar.count / tallest))


@pages.get("/articles/<path:article_id>")
def article(article_id: str):
    """Show one article: digest on top, then its paragraphs, numbered and anchored.

    A long article is shown in parts of PARAGRAPHS_PER_PART paragraphs (`?part=2`).
    """
    archive = archive_of(current_app)
    stored = archive.get(article_id)
    if stored is None:
        abort(404, description=f"There is no article with the id “{article_id}”.")
    query = request.args.get("q", "")
    paragraphs = stored.article.paragraphs
    parts = max(1, part_of(len(paragraphs) - 1)) if paragraphs else 1
    raw_part = request.args.get("part", "1")
    part = int(raw_part) if raw_part.isascii() and raw_part.isdigit() else 1
    part = min(max(1, part), parts)
    first = (part - 1) * PARAGRAPHS_PER_PART
    shown = range(first, min(len(paragraphs), first + PARAGRAPHS_PER_PART))
    paragraphs_marked, digest_marked = archive.highlight(stored, query, shown)
    return render_template(
        "article.html",
        related=related(archive, article_id, group=current_app.config["GROUP_VERSIONS"]) or [],
        stored=stored,
        article=stored.article,
        versions=archive.versions(article_id),
        query=query,
        shown=list(zip(shown, paragraphs_marked, strict=True)),
        digest_marked=digest_marked,
        part=part,
        parts=parts,
        per_part=PARAGRAPHS_PER_PART,
    )


@pages.get("/healthz")
def healthz():
    """For monitors: 200 with the article count when the archive can be read, else 503."""
    try:
        stats = archive_of(current_app).stats()
    except Exception as error:  # any failure to read is what a monitor wants to hear of
        return {"status": "error", "error": f"{type(error).__name__}: {error}"}, 503
    return {"status": "ok", "articles": stats.articles, "paragraphs": stats.paragraphs}


def _said_why(error: HTTPException) -> bool:
    """Tell whether the error carries our own description rather than werkzeug's default."""
    return error.description != type(error).description


def register_error_pages(app: Flask) -> None:
    """Render HTTP errors as pages in the site's layout."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413 and not _said_why(error):
            if (request.content_length or 0) > app.config["MAX_CONTENT_LENGTH"]:
                error.description = (
                    f"That upload is larger than {app.config['MAX_UPLOAD_MB']} MB, the most "
                    "this Precis accepts at once. Send fewer or smaller files."
                )
            else:  # werkzeug's limit on form parts: too many files or fields
                error.description = (
                    f"Too many files or form fields in one upload (at most "
                    f"{app.config['MAX_FILES']:,} files). Send them in batches."
                )
        elif error.code == 500:
            error.description = (
                "Something went wrong on our side; the problem has been logged. "
                "Your archive is safe: try again, or go back to the search."
            )
        if request.path.startswith("/api/"):
            return {"error": error.description, "status": error.code}, error.code
        return render_template("error.html", error=error), error.code

    @app.errorhandler(ArchiveError)
    def archive_error(error: ArchiveError):
        from .add import archive_error_status

        status = archive_error_status(error)
        app.logger.error("archive error on %s: %s", request.path, error)
        wrapped = HTTPException(description=str(error))
        wrapped.code = status
        if request.path.startswith("/api/"):
            return {"error": str(error), "status": status}, status
        return render_template("error.html", error=wrapped), status
