"""Exporting the matches of a search: every matching article, not just a page, as CSV for
spreadsheets or as JSON Lines that `precis ingest` reads back unchanged.

Both formats are produced lazily from `Archive.every_match`, a chunk of text at a time, so
the web app streams them and the CLI prints them as the archive is read.

- **CSV** has one row per match under a header of `EXPORT_COLUMNS`: plain text only (the
  digest shown for the search as one paragraph, the best hit without its marks), the url
  only when it is an http(s) address. A value that a spreadsheet would run as a formula
  (one starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a `'` in front,
  as OWASP advises for CSV injection: the spreadsheet then shows it as text. The file is
  for reading, not for ingesting (it has no paragraphs).
- **JSON Lines** has one object per match: the article's whole public record (an ingest
  record, as `precis export` writes it) plus `best_hit` and `score`, which ingest ignores
  like the record's other informative fields (`digest`, `short_digest`, `story`,
  `ingested_at`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator

from .articles import safe_url
from .models import ArticleResult, StoredArticle

EXPORT_COLUMNS = (
    "id",
    "title",
    "date",
    "source",
    "category",
    "author",
    "url",
    "digest",
    "best_hit",
    "score",
)
FORMATS = {  # format name -> (file extension, media type)
    "csv": ("csv", "text/csv; charset=utf-8"),
    "jsonl": ("jsonl", "application/x-ndjson; charset=utf-8"),
}
CHUNK_ROWS = 100  # rows written per chunk of text
# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Match = tuple[ArticleResult, StoredArticle]


def best_hit(result: ArticleResult) -> str:
    """The text of the result's best hit, without marks ("" when it has none)."""
    return result.hits[0].marked.text if result.hits else ""


def row(result: ArticleResult, stored: StoredArticle) -> dict[str, str | float]:
    """One match as a plain dict of `EXPORT_COLUMNS`: text values, and the score."""
    return {
        "id": result.id,
        "title": result.title,
        "date": result.date,
        "source": result.source,
        "category": result.category,
        "author": stored.article.author,
        "url": safe_url(result.url),
        "digest": " ".join(sentence.text for sentence in result.digest),
        "best_hit": best_hit(result),
        "score": result.score,
    }


def rows(matches: Iterable[Match]) -> Iterator[dict[str, str | float]]:
    """Each match (a result and its stored article) as a plain dict of `EXPORT_COLUMNS`."""
    for result, stored in matches:
        yield row(result, stored)


def neutralised(value: str) -> str:
    """`value`, with a `'` in front if a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(matches: Iterable[Match]) -> Iterator[str]:
    """The matches as CSV text, in chunks: the header row first, then a row per match
    (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    written = 0
    for values in rows(matches):
        writer.writerow(
            [
                value if isinstance(value, float) else neutralised(value)
                for value in (values[name] for name in EXPORT_COLUMNS)
            ]
        )
        written += 1
        if written % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def record(result: ArticleResult, stored: StoredArticle) -> dict:
    """One match as a JSON Lines object: the article's public record (an ingest record)
    with its `best_hit` and `score` for this search."""
    return stored.public_record() | {"best_hit": best_hit(result), "score": result.score}


def to_jsonl(matches: Iterable[Match]) -> Iterator[str]:
    """The matches as JSON Lines, one line (ending in a newline) per match."""
    for result, stored in matches:
        yield json.dumps(record(result, stored), ensure_ascii=False) + "\n"


WRITERS = {"csv": to_csv, "jsonl": to_jsonl}


def export(matches: Iterable[Match], fmt: str) -> Iterator[str]:
    """The matches in format `fmt` (a key of `FORMATS`), in chunks of text."""
    if fmt not in WRITERS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    return WRITERS[fmt](matches)


def filename(query: str, fmt: str) -> str:
    """A file name for the export of `query`: `precis-<words of the query>.<ext>`, in
    ASCII letters, digits and hyphens (`precis-latest` for an empty query)."""
    plain = unicodedata.normalize("NFKD", query).encode("ascii", "ignore").decode("ascii")
    slug = "-".join(re.findall(r"[a-z0-9]+", plain.lower()))[:60].strip("-")
    return f"precis-{slug or 'latest'}.{FORMATS[fmt][0]}"
