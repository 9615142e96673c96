"""Adding articles from the browser (`/add`) and the API (`POST /api/articles`).

Uploads go through the same parsers and the same ingest pipeline as `precis ingest`:
each file is parsed by its extension, its articles digested and stored, and the page
reports each file's outcome (added, updated, unchanged or failed with the reason). An
uploaded article's id derives from the file name (and its position in a multi-record
file), so uploading a corrected file again updates the article instead of copying it.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import PurePath

from flask import Blueprint, abort, current_app, render_template, request

from index.archive import ArchiveBusy, ArchiveError, ArchiveWriteError
from index.articles import ArticleError, article_from_record, article_from_text, derived_id
from index.formats import FORMATS, Parsed, Problem, parse_bytes
from index.ingest import (
    ArticleLimits,
    DigestSettings,
    IngestReport,
    delete_article,
    store_articles,
)
from index.models import Article

from . import archive_of
from .security import (
    bearer_token,
    csrf_valid,
    grant_writer,
    is_writer,
    token_matches,
    why_writes_are_off,
    writes_enabled,
)

adding = Blueprint("adding", __name__)
MAX_PASTE_CHARS = 1_000_000


@dataclass
class Outcome:
    """One line of the report: a file or a pasted text, and what became of it."""

    name: str
    status: str  # added, updated, unchanged or failed
    detail: str = ""


def _digest_settings() -> DigestSettings:
    config = current_app.config
    return DigestSettings(length=config["DIGEST_LENGTH"], algorithm=config["DIGEST_ALGORITHM"])


def _limits() -> ArticleLimits:
    config = current_app.config
    return ArticleLimits(
        max_chars=int(config["MAX_ARTICLE_CHARS"]),
        max_paragraphs=int(config["MAX_ARTICLE_PARAGRAPHS"]),
    )


def archive_error_status(error: ArchiveError) -> int:
    """The HTTP status for a failed write: 503 busy, 507 disk full, 500 otherwise."""
    if isinstance(error, ArchiveBusy):
        return 503
    if isinstance(error, ArchiveWriteError) and error.errno == errno.ENOSPC:
        return 507
    return 500


def parse_upload(filename: str, data: bytes) -> Parsed:
    """Parse one uploaded file by its extension; problems are reported, never raised."""
    name = PurePath(filename or "upload").name
    fmt = FORMATS.get(PurePath(name).suffix.lower())
    if fmt is None:
        return Parsed([], [Problem(name, f"can't read {PurePath(name).suffix or 'this'} files")])
    try:
        return parse_bytes(
            data, fmt, origin="", key=f"upload/{name}", name=PurePath(name).stem, where=name
        )
    except ArticleError as error:
        return Parsed([], [Problem(name, str(error))])


def parse_paste(text: str, title: str) -> Parsed:
    """Parse pasted text: the first line is the title unless a title is given."""
    try:
        if len(text) > MAX_PASTE_CHARS:
            raise ArticleError(f"pasted text is longer than {MAX_PASTE_CHARS:,} characters")
        if title.strip():
            article = article_from_record(
                {"title": title, "text": text}, origin="", key=f"paste/{title}", name=title
            )
        else:
            first_line = text.strip().split("\n", 1)[0]
            article_id = derived_id(first_line, f"paste/{first_line}")
            article = article_from_text(text, article_id=article_id, origin="")
        return Parsed([article])
    except ArticleError as error:
        return Parsed([], [Problem("pasted text", str(error))])


def store_parsed(sources: list[tuple[str, Parsed]]) -> list[Outcome]:
    """Store the articles of each source; return one outcome per article or problem."""
    articles: list[Article] = [a for _, parsed in sources for a in parsed.articles]
    report = IngestReport()
    if articles:
        report = store_articles(
            archive_of(current_app),
            articles,
            settings=_digest_settings(),
            timeout=30,
            limits=_limits(),
        )
    status = {
        **{i: "added" for i in report.added},
        **{i: "updated" for i in report.updated},
        **{i: "unchanged" for i in report.unchanged},
    }
    refused = {p.where: p.reason for p in report.failed}
    outcomes: list[Outcome] = []
    for name, parsed in sources:
        for problem in parsed.problems:
            outcomes.append(Outcome(problem.where, "failed", problem.reason))
        for article in parsed.articles:
            label = f"{name}: {article.headline}"
            if article.id in status:
                outcomes.append(Outcome(label, status[article.id]))
            else:
                outcomes.append(Outcome(label, "failed", refused.get(article.id, "not stored")))
    return outcomes


@adding.route("/add", methods=["GET", "POST"])
def add_page():
    """Show the add form; on POST, ingest the uploaded files and pasted text."""
    outcomes: list[Outcome] = []
    error = ""
    status = 200
    if request.method == "POST":
        if not writes_enabled():
            abort(403, description=why_writes_are_off())
        if not csrf_valid():
            abort(400, description="The form expired or came from elsewhere. Reload and retry.")
        if not is_writer():
            if token_matches(request.form.get("token")):
                grant_writer()
            else:
                error, status = "That write token is not right.", 403
        uploads = [upload for upload in request.files.getlist("files") if upload.filename]
        if not error and len(uploads) > current_app.config["MAX_FILES"]:
            error, status = _too_many_files(len(uploads)), 413
        if not error:
            sources = [
                (upload.filename or "upload", parse_upload(upload.filename or "", upload.read()))
                for upload in uploads
            ]
            text = request.form.get("text", "")
            if text.strip():
                sources.append(("pasted text", parse_paste(text, request.form.get("title", ""))))
            if not sources:
                error, status = "Choose a file or paste an article first.", 400
            else:
                try:
                    outcomes = store_parsed(sources)
                except ArchiveError as failed:
                    error, status = str(failed), archive_error_status(failed)
    return (
        render_template(
            "add.html",
            outcomes=outcomes,
            error=error,
            enabled=writes_enabled(),
            off_reason=why_writes_are_off(),
            authorised=is_writer(),
            formats=sorted(FORMATS),
        ),
        status,
    )


def _api_failure(error: ArchiveError):
    """A failed write as the API answers it: JSON naming the cause (werkzeug has no 507)."""
    status = archive_error_status(error)
    current_app.logger.error("write failed: %s", error)
    return {"error": str(error), "status": status}, status


def _too_many_files(count: int) -> str:
    most = current_app.config["MAX_FILES"]
    return f"Too many files: {count:,} in one upload (at most {most:,}). Send them in batches."


def _require_api_writer() -> None:
    if not writes_enabled():
        abort(403, description=why_writes_are_off())
    if not token_matches(bearer_token()):
        abort(401, description="send the write token as 'Authorization: Bearer <token>'")


@adding.post("/api/articles")
def api_add():
    """Add or update articles from a JSON record, a list of them, or uploaded files."""
    _require_api_writer()
    sources: list[tuple[str, Parsed]] = []
    if request.files:
        uploads = request.files.getlist("files")
        if len(uploads) > current_app.config["MAX_FILES"]:
            abort(413, description=_too_many_files(len(uploads)))
        sources = [
            (f.filename or "upload", parse_upload(f.filename or "", f.read())) for f in uploads
        ]
    else:
        data = request.get_data()
        sources = [("request", parse_upload("request.json", data))]
    try:
        outcomes = store_parsed(sources)
    except ArchiveError as failed:
        return _api_failure(failed)
    failed = any(o.status == "failed" for o in outcomes)
    body = {"results": [o.__dict__ for o in outcomes]}
    return body, (422 if failed and all(o.status == "failed" for o in outcomes) else 200)


@adding.delete("/api/articles/<path:article_id>")
def api_delete(article_id: str):
    """Delete one article."""
    _require_api_writer()
    try:
        found = delete_article(archive_of(current_app), article_id, timeout=30)
    except ArchiveError as failed:
        return _api_failure(failed)
    if not found:
        abort(404, description=f"no article with id {article_id!r}")
    return {"deleted": article_id}
