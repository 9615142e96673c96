"""Highlighting, the same for every backend: which characters of a text hold the query's
terms (spans), cropping a long paragraph around its first hit, and rendering the result.

Backends return `Marked` text: the text itself plus the (start, end) spans to mark, never
HTML. Pages render it with `to_html` (every character escaped, only our own `<mark>`
added), the command line with `to_terminal` (bold colour on a terminal, plain otherwise).
"""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

from .models import Marked
from .terms import TOKEN, language_code, term, term_spans

SNIPPET_CHARS = 320
ELLIPSIS = "…"


def mark(text: str, wanted: frozenset[str], language: str = "en", *, crop: bool = True) -> Marked:
    """`text` with the words whose term is in `wanted` marked; cropped to about
    SNIPPET_CHARS around the first hit when `crop` (an ellipsis where text was cut)."""
    if not wanted:
        spans: list[tuple[int, int]] = []
    elif language_code(language) == "en":
        spans = english_spans(text, wanted)
    else:
        spans = term_spans(text, wanted, language)
    return cropped(text, spans) if crop else Marked(text, spans)


def cropped(text: str, spans: list[tuple[int, int]], size: int = SNIPPET_CHARS) -> Marked:
    """`text` cut to about `size` characters at word boundaries, from a little before the
    first span; the spans moved with it (those cut off dropped)."""
    if len(text) <= size:
        return Marked(text, list(spans))
    start = _word_start(text, max(0, spans[0][0] - 80)) if spans else 0
    end = _word_end(text, min(len(text), start + size))
    if end == len(text):
        start = _word_start(text, max(0, end - size))
    prefix = f"{ELLIPSIS} " if start > 0 else ""
    suffix = f" {ELLIPSIS}" if end < len(text) else ""
    shift = len(prefix) - start
    kept = [(a + shift, b + shift) for a, b in spans if a >= start and b <= end]
    return Marked(prefix + text[start:end] + suffix, kept)


def pieces(marked: Marked) -> list[tuple[str, bool]]:
    """The text in order as (piece, marked?) pairs; overlapping or bad spans are ignored."""
    text = marked.text
    parts: list[tuple[str, bool]] = []
    position = 0
    for start, end in sorted(marked.marks):
        if start < position or end > len(text) or start >= end:
            continue
        if start > position:
            parts.append((text[position:start], False))
        parts.append((text[start:end], True))
        position = end
    if position < len(text):
        parts.append((text[position:], False))
    return parts


def to_html(marked: Marked) -> Markup:
    """The text HTML-escaped, the marked spans in `<mark>`: the only markup it holds."""
    return Markup("").join(
        Markup("<mark>{}</mark>").format(piece) if hit else escape(piece)
        for piece, hit in pieces(marked)
    )


_BOLD_YELLOW, _RESET = "\x1b[1;33m", "\x1b[0m"


def to_terminal(marked: Marked, colour: bool) -> str:
    """The text for a terminal: the marked spans in bold yellow when `colour`, else plain."""
    if not colour:
        return marked.text
    return "".join(f"{_BOLD_YELLOW}{p}{_RESET}" if hit else p for p, hit in pieces(marked))


# --- English, fast --------------------------------------------------------------------------


def english_spans(text: str, wanted: frozenset[str]) -> list[tuple[int, int]]:
    """The spans of the words of `text` whose English term is in `wanted` (what
    `terms.term_spans` finds, five times faster).

    Only the words that start like a term are analysed: a stem is its word's beginning but
    for its last two letters at most (`observatori` for `observatory`, `die` for `dying`),
    so a regular expression of those beginnings finds every candidate in C, and each
    candidate that begins a token is checked exactly.
    """
    spans = []
    for candidate in _beginnings(wanted).finditer(text):
        start = candidate.start()
        before = text[start - 1] if start else " "
        if _joins(before) or (before == "." and start > 1 and _joins(text[start - 2])):
            continue  # inside a token (`U.S`): its start is elsewhere
        token = TOKEN.match(text, start)
        if token and _english_term(token.group().lower()) in wanted:
            if not spans or spans[-1][1] <= start:
                spans.append(token.span())
    return spans


def _joins(char: str) -> bool:
    """Whether `char` continues a token."""
    return char.isalnum() or char == "_"


@lru_cache(maxsize=256)
def _beginnings(wanted: frozenset[str]) -> re.Pattern[str]:
    starts = sorted({t[: max(1, len(t) - 2)] for t in wanted}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, starts)), re.IGNORECASE)


@lru_cache(maxsize=65536)
def _english_term(word: str) -> str | None:
    return term(word, "en")


def _word_start(text: str, index: int) -> int:
    """Move `index` forward to the start of a word (or leave it at 0)."""
    if index <= 0:
        return 0
    space = text.find(" ", index)
    return space + 1 if 0 <= space < index + 30 else index


def _word_end(text: str, index: int) -> int:
    """Move `index` back to the end of a word (or leave it at the end)."""
    if index >= len(text):
        return len(text)
    space = text.rfind(" ", index - 30, index)
    return space if space > 0 else index
