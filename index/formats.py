"""Reading articles from files: plain text, Markdown, HTML, JSON, JSON Lines and CSV.

`read_path` turns one file into the articles it holds plus the problems met on
the way (a malformed JSON line, a record without a body); a file that can't be
read at all raises `ArticleError` with a reason a person can act on. Parsing
only produces `Article`s: digesting and indexing happen in `ingest`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .articles import (
    ArticleError,
    article_from_record,
    article_from_text,
    derived_id,
    looks_like_date_line,
    normalise,
    normalise_line,
    parse_date,
    tidy_body,
)
from .models import Article

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}

MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass
class Problem:
    """Something in the input that was skipped, and why."""

    where: str  # a path, "path:LINE" or "path#RECORD"
    reason: str


@dataclass
class Parsed:
    """The articles read from one source and the problems met reading it."""

    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def format_of(path: Path) -> str | None:
    """Return the format name for a file by its extension, or None if Precis can't read it."""
    return FORMATS.get(path.suffix.lower())


def read_path(path: Path) -> Parsed:
    """Read one file into articles; raise ArticleError if the file can't be used at all."""
    fmt = format_of(path)
    if fmt is None:
        raise ArticleError(
            f"unsupported file type {path.suffix or '(no extension)'!r}; "
            f"Precis reads {', '.join(sorted(FORMATS))}"
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ArticleError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as error:
        raise ArticleError(f"can't read the file: {error.strerror or error}") from error
    origin = str(path.resolve())
    return parse_bytes(data, fmt, origin=origin, key=origin, name=path.stem, where=str(path))


def parse_bytes(data: bytes, fmt: str, *, origin: str, key: str, name: str, where: str) -> Parsed:
    """Parse the bytes of one source in format `fmt`.

    `origin` is recorded on each article (the file it came from, or "" for uploads),
    `key` makes derived ids unique and stable, `name` is the readable part of derived
    ids, and `where` names the source in problem reports.
    """
    _check_not_compressed(data)
    if fmt == "html":
        _check_not_empty_or_binary(data, allow_nul=False)
        return Parsed([_article_from_html(data, origin=origin, key=key, name=name)])
    text = decode(data)
    if fmt == "text":
        return Parsed([article_from_text(text, article_id=derived_id(name, key), origin=origin)])
    if fmt == "markdown":
        return Parsed([_article_from_markdown(text, origin=origin, key=key, name=name)])
    if fmt == "json":
        return _articles_from_records(_json_records(text), origin, key, name, where, "#")
    if fmt == "jsonl":
        return _articles_from_records(_jsonl_records(text), origin, key, name, where, ":")
    if fmt == "csv":
        return _articles_from_records(_csv_records(text), origin, key, name, where, ":")
    raise ArticleError(f"unknown format {fmt!r}")


# Leading bytes of compressed and archive files. A parser would either choke on them or,
# like trafilatura with gzip, quietly inflate a small file into millions of paragraphs.
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
    b"7z\xbc\xaf\x27\x1c": "7-Zip",
    b"\x04\x22\x4d\x18": "lz4",
}


def _check_not_compressed(data: bytes) -> None:
    for magic, kind in _COMPRESSED.items():
        if data.startswith(magic):
            raise ArticleError(
                f"this is a {kind}-compressed file, whatever its name says; "
                "decompress it and add the files inside"
            )


def _check_not_empty_or_binary(data: bytes, allow_nul: bool) -> None:
    if not data.strip():
        raise ArticleError("the file is empty")
    if not allow_nul and b"\x00" in data[:8192]:
        raise ArticleError("this is a binary file, not text")


def decode(data: bytes) -> str:
    """Decode text bytes (UTF-8, or UTF-16 with a byte-order mark), or raise ArticleError."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ArticleError("not valid UTF-16 text despite its byte-order mark") from error
    else:
        _check_not_empty_or_binary(data, allow_nul=False)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ArticleError(
                f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
                "save the file as UTF-8 and try again"
            ) from error
    if not text.strip():
        raise ArticleError("the file is empty")
    return text


# --- structured records -----------------------------------------------------------------

# Each yields (position, record-or-error): the position is a line or record number.
Record = tuple[int, Any]


def _json_records(text: str) -> Iterator[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArticleError(f"malformed JSON at line {error.lineno}: {error.msg}") from error
    if isinstance(data, Mapping) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise ArticleError('JSON must be an article object, a list of them, or {"articles": [...]}')
    yield from enumerate(data, start=1)


def _jsonl_records(text: str) -> Iterator[Record]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            yield number, ArticleError(f"malformed JSON line: {error.msg} (column {error.colno})")


def _csv_records(text: str) -> Iterator[Record]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {name.strip().lower() for name in reader.fieldnames or [] if name}
    if not columns & {"paragraphs", "text", "body", "content", "article"}:
        raise ArticleError(
            "CSV needs a header row with a body column (text, body, content, article or paragraphs)"
        )
    try:
        for row in reader:
            record = {(k or "").strip().lower(): v for k, v in row.items() if k is not None}
            yield reader.line_num, record
    except csv.Error as error:
        raise ArticleError(f"malformed CSV at line {reader.line_num}: {error}") from error


def _articles_from_records(
    records: Iterable[Record], origin: str, key: str, name: str, where: str, sep: str
) -> Parsed:
    parsed = Parsed()
    for position, record in records:
        place = f"{where}{sep}{position}"
        if isinstance(record, ArticleError):
            parsed.problems.append(Problem(place, str(record)))
            continue
        try:
            parsed.articles.append(
                article_from_record(
                    record, origin=origin, key=f"{key}#{position}", name=f"{name}-{position}"
                )
            )
        except ArticleError as error:
            parsed.problems.append(Problem(place, str(error)))
    if not parsed.articles and not parsed.problems:
        raise ArticleError("the file holds no records")
    return parsed


# --- Markdown -----------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.DOTALL)


def _article_from_markdown(text: str, *, origin: str, key: str, name: str) -> Article:
    from markdown_it import MarkdownIt

    text = normalise(text)
    meta: dict[str, str] = {}
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).split("\n"):
            field_name, sep, value = line.partition(":")
            if sep:
                meta[field_name.strip().lower()] = value.strip().strip("'\"")
        text = text[front.end() :]

    title = meta.get("title", "")
    paragraphs: list[str] = []
    tokens = MarkdownIt("commonmark").parse(text)
    for index, token in enumerate(tokens):
        if token.type not in ("heading_open", "paragraph_open"):
            continue
        content = _inline_text(tokens[index + 1])
        if not content:
            continue
        if token.type == "heading_open":
            if not title:
                title = content
            continue  # sub-headings are structure, not body paragraphs
        paragraphs.append(content)

    date_text = parse_date(meta.get("date"))
    if not date_text:
        for position, paragraph in enumerate(paragraphs[:4]):
            if looks_like_date_line(paragraph):
                date_text = parse_date(paragraphs.pop(position))
                break
    body, captions, reading_time = tidy_body(paragraphs)
    if not title and body:
        title = body.pop(0)
    if not body:
        raise ArticleError("no body paragraphs in the Markdown")
    record = {**meta, "title": title, "paragraphs": body, "date": date_text}
    article = article_from_record(record, origin=origin, key=key, name=name)
    article.captions = captions + article.captions
    article.reading_time = reading_time or article.reading_time
    return article


def _inline_text(token: Any) -> str:
    """Return the plain text of a markdown-it inline token (markup dropped)."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return normalise_line("".join(parts))


# --- HTML ---------------------------------------------------------------------------------


def _article_from_html(data: bytes, *, origin: str, key: str, name: str) -> Article:
    import trafilatura

    text = trafilatura.extract(
        data, include_comments=False, include_tables=False, include_images=False
    )
    if not text:
        # trafilatura declines pages it finds too short; its baseline still finds the text.
        _, text, _ = trafilatura.baseline(data)
    metadata = trafilatura.extract_metadata(data)
    title = normalise_line(metadata.title) if metadata and metadata.title else ""
    lines = [normalise_line(line) for line in (text or "").split("\n")]
    lines = [line for line in lines if line]
    if title and lines and lines[0] == title:
        lines.pop(0)
    if not lines:
        raise ArticleError("no article text found in the HTML")
    record = {
        "title": title,
        "paragraphs": lines,
        "date": metadata.date if metadata else None,
        "author": metadata.author if metadata else None,
        "source": metadata.sitename if metadata else None,
        "url": metadata.url if metadata else None,
        "standfirst": metadata.description if metadata else None,
    }
    return article_from_record(
        {k: v for k, v in record.items() if v}, origin=origin, key=key, name=name
    )
