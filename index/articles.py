"""Turning raw text and loose records into clean `Article`s.

Every input format ends here: text is normalised (NFC, odd spaces to plain
spaces, invisible and control characters dropped), dates become ISO days, ids
are checked or derived from where the article came from, and what news copy mixes
into the body (reading-time lines, bylines, datelines, photo captions, wire credits,
advertising and newsletter prompts) goes through `cleaning.clean_copy`, so it is never
indexed or digested: bylines become the author, datelines the dateline.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from dateutil import parser as dateparser

from .cleaning import clean_author, clean_copy, is_caption
from .models import Article

_ODD_SPACE = re.compile(r"[\t\v\f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# Zero-width characters, and the bidirectional embedding, override and isolate controls
# that can make a title read differently from what it holds ("Trojan Source").
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]")
_ID_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\\]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r" {2,}")

READING_TIME = re.compile(r"^\d{1,3}\s*(?:min|mins|minute|minutes)\.?\s+read$", re.IGNORECASE)

MAX_ID_LENGTH = 200


class ArticleError(ValueError):
    """An input that can't become an article; the message says why, for the reader."""


def normalise(text: str) -> str:
    """Return `text` in NFC with plain spaces, no invisible or control characters,
    Unix line ends and no trailing spaces (curly quotes and dashes are kept)."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACE.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def normalise_line(text: str) -> str:
    """Return `text` normalised and folded onto one line."""
    return " ".join(normalise(text).split())


def split_blocks(text: str) -> list[list[str]]:
    """Split normalised text into blocks separated by blank lines; each block is its lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def split_paragraphs(text: str) -> list[str]:
    """Split a body string into paragraphs: on blank lines, or on line ends when it has none."""
    text = normalise(text)
    blocks = split_blocks(text)
    if len(blocks) == 1:
        return list(blocks[0])
    return [" ".join(block) for block in blocks]


def parse_date(value: Any) -> str:
    """Return the ISO day (YYYY-MM-DD) for a date in any common form, or "" if it isn't one."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = normalise_line(str(value))
    if not text or len(text) > 60 or not re.search(r"\d", text):
        return ""
    try:
        parsed = dateparser.parse(text, default=datetime(2000, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return ""
    if not 1000 <= parsed.year <= 2999:
        return ""
    return parsed.date().isoformat()


def looks_like_date_line(line: str) -> bool:
    """Tell whether a header line is a date on its own, such as "11 February, 2016"."""
    if len(line) > 40 or not re.search(r"\b\d{4}\b", line):
        return False
    return bool(parse_date(line))


def tidy_body(paragraphs: Iterable[str]) -> tuple[list[str], list[str], str]:
    """Separate body paragraphs from captions and reading-time lines.

    Returns (body, captions, reading_time).
    """
    body: list[str] = []
    captions: list[str] = []
    reading_time = ""
    for raw in paragraphs:
        paragraph = normalise_line(raw)
        if not paragraph:
            continue
        if READING_TIME.match(paragraph):
            reading_time = reading_time or paragraph
        elif is_caption(paragraph):
            captions.append(paragraph)
        else:
            body.append(paragraph)
    if not body:  # all of it looks like captions: keep it as the body, lose nothing
        body, captions = captions, []
    return body, captions, reading_time


def slug(text: str, limit: int = 60) -> str:
    """Return a lowercase ASCII slug of `text` (possibly empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].rstrip("-")


def derived_id(name: str, key: str) -> str:
    """Return a stable id made of a readable slug of `name` and a short hash of `key`."""
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    stem = slug(name)
    return f"{stem}-{digest}" if stem else digest


def check_id(value: Any) -> str:
    """Return a record's id as a string, or raise ArticleError saying what is wrong with it.

    An id becomes part of links (`/articles/<id>`) and file-like paths, so it may not have
    control or invisible characters, backslashes, leading or trailing spaces, `?` or `#`,
    a leading `/`, or `.` and `..` segments (browsers resolve `a/../../add` to `/add`).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ArticleError(f"id must be a string or a number, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", str(value))
    if not text.strip():
        raise ArticleError("id is empty")
    if len(text) > MAX_ID_LENGTH:
        raise ArticleError(f"id is longer than {MAX_ID_LENGTH} characters")
    if text != text.strip():
        raise ArticleError(f"id {text.strip()!r} has spaces before or after it")
    bad = _ID_FORBIDDEN.search(text)
    if bad:
        raise ArticleError(
            f"id {ascii(text)} holds a character ids can't have (U+{ord(bad.group()):04X})"
        )
    if text.startswith("/") or "?" in text or "#" in text:
        raise ArticleError(f"id {text!r} can't be used in a link (no '?', '#', leading '/')")
    if any(segment in {".", ".."} for segment in text.split("/")):
        raise ArticleError(f"id {text!r} has a '.' or '..' part, which links can't hold")
    return text


def safe_url(value: str) -> str:
    """Return `value` if it is an http(s) address, else "": no other scheme becomes a link."""
    url = value.strip()
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in ("http", "https") or not rest.startswith("//") or len(rest) < 3:
        return ""
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ""
    return url


BODY_KEYS = ("text", "body", "content", "article")
_TEXT_KEYS = (
    "title",
    "source",
    "url",
    "category",
    "author",
    "language",
    "standfirst",
    "reading_time",
    "dateline",
)


def article_from_record(record: Mapping[str, Any], *, origin: str, key: str, name: str) -> Article:
    """Build an Article from a JSON/CSV record.

    `key` identifies the record within its origin (e.g. "path#12") and `name` gives the
    readable part of a derived id, used when the record has neither `id` nor `url`.
    """
    if not isinstance(record, Mapping):
        raise ArticleError(f"expected an object with a body, got {type(record).__name__}")
    fields: dict[str, str] = {}
    for name_ in _TEXT_KEYS:
        value = record.get(name_)
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ArticleError(f"field {name_!r} must be text, not {type(value).__name__}")
        fields[name_] = normalise_line(str(value))

    raw_paragraphs = record.get("paragraphs")
    if raw_paragraphs not in (None, "", []):
        if isinstance(raw_paragraphs, str):
            raw_list = split_paragraphs(raw_paragraphs)
        elif isinstance(raw_paragraphs, list) and all(isinstance(p, str) for p in raw_paragraphs):
            raw_list = raw_paragraphs
        else:
            raise ArticleError("'paragraphs' must be a list of strings")
    else:
        body_key = next((k for k in BODY_KEYS if record.get(k) not in (None, "")), None)
        if body_key is None:
            raise ArticleError("record has no body ('paragraphs', 'text', 'body' or 'content')")
        if not isinstance(record[body_key], str):
            raise ArticleError(f"field {body_key!r} must be a string")
        raw_list = split_paragraphs(record[body_key])

    body, captions, reading_time = tidy_body(raw_list)
    if not body:
        raise ArticleError("record has an empty body")
    given_captions = record.get("captions")
    if given_captions not in (None, "", []):
        if not isinstance(given_captions, list) or not all(
            isinstance(c, str) for c in given_captions
        ):
            raise ArticleError("'captions' must be a list of strings")
        captions = [normalise_line(c) for c in given_captions if c.strip()] + captions
    caption = record.get("caption")
    if isinstance(caption, str) and caption.strip():
        captions.insert(0, normalise_line(caption))
    # Only http(s) addresses are kept: another scheme (javascript:, data:) is never a link.
    fields["url"] = safe_url(fields.get("url", ""))

    if record.get("id") not in (None, ""):
        article_id = check_id(record["id"])
    elif fields.get("url"):
        article_id = derived_id(fields["url"].rstrip("/").rsplit("/", 1)[-1], fields["url"])
    else:
        article_id = derived_id(name, key)

    return cleaned(
        Article(
            id=article_id,
            title=fields.get("title", ""),
            paragraphs=body,
            standfirst=fields.get("standfirst", ""),
            captions=captions,
            date=parse_date(record.get("date")),
            source=fields.get("source", ""),
            url=fields.get("url", ""),
            category=fields.get("category", ""),
            author=fields.get("author", ""),
            dateline=fields.get("dateline", ""),
            language=(fields.get("language") or "english").lower(),
            reading_time=fields.get("reading_time") or reading_time,
            origin=origin,
        )
    )


def article_from_text(text: str, *, article_id: str, origin: str) -> Article:
    """Parse plain text in the layout of Precis's seed article (or simpler).

    The seed layout: a title line, a blank line, the title again, a standfirst,
    a reading-time line ("3 min read"), a date line ("11 February, 2016"), a photo
    caption ending in a credit ("[Getty]"), a blank line, then body paragraphs
    separated by blank lines. Any part of the header may be missing; text without
    a header is a title line followed by paragraphs.
    """
    blocks = split_blocks(normalise(text))
    if not blocks:
        raise ArticleError("the file is empty")
    first = blocks.pop(0)
    title = first[0]
    header = first[1:] or (blocks.pop(0) if blocks else [])
    standfirst, date_text, reading_time, captions = "", "", "", []

    if header and header[0] == title:
        header = header[1:]
    marks = [
        i
        for i, line in enumerate(header)
        if READING_TIME.match(line) or (looks_like_date_line(line))
    ]
    if marks:
        standfirst = " ".join(header[: marks[0]])
        for line in header[marks[0] : marks[-1] + 1]:
            if READING_TIME.match(line):
                reading_time = line
            elif looks_like_date_line(line) and not date_text:
                date_text = parse_date(line)
        captions = [" ".join(header[marks[-1] + 1 :])] if header[marks[-1] + 1 :] else []
    elif header:
        blocks.insert(0, header)

    body, more_captions, body_reading_time = tidy_body(" ".join(block) for block in blocks)
    if not body:
        if standfirst:
            body, standfirst = [standfirst], ""
        else:
            raise ArticleError("no body paragraphs after the title")
    return cleaned(
        Article(
            id=article_id,
            title=title,
            paragraphs=body,
            standfirst=standfirst,
            captions=captions + more_captions,
            date=date_text,
            reading_time=reading_time or body_reading_time,
            origin=origin,
        )
    )


def cleaned(article: Article) -> Article:
    """Return `article` with its body cleaned of bylines, datelines and boilerplate
    (see `cleaning`): a byline's names become the author unless the source named one, a
    dateline becomes the dateline, captions join the captions. A body that would be
    left empty is kept as it was: cleaning never loses an article."""
    copy = clean_copy(article.paragraphs, language=article.language)
    if not copy.paragraphs:
        return article
    article.paragraphs = copy.paragraphs
    article.captions = article.captions + copy.captions
    article.author = clean_author(article.author) or copy.author
    article.dateline = article.dateline or copy.dateline
    return article
