"""The query language, the same for every backend: cleaning, the word being typed, and a
parse into a neutral form that a backend translates into its engine's query.

What a reader may type:

- plain words, all required (`OR` between words makes them alternatives);
- "a phrase" in double (or typographic) quotes;
- `-word`, `NOT word` or `-"a phrase"` to exclude;
- `title:`, `author:` or `dateline:` before a word or a phrase to search one field;
- `word*` for every word that starts so.

Anything else is text: unknown `field:` prefixes are dropped, stray operators and
wildcards ignored, so no query can fail to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .articles import normalise_line
from .models import SearchRequest

MAX_QUERY_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MINUS = re.compile(r'(?<![^\s(])-(?=[\w"(])')
_LONE_WILDCARD = re.compile(r"(?<![^\s(])\S?[*?]+(?=[\s)]|$)|[?]")
WORD = re.compile(r"\w+", re.UNICODE)
FIELD_PREFIX = re.compile(r"\w+:")
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT"})
# Typographic quotes as phones and word processors type them: double ones always delimit
# a phrase; a single closing quote between letters is an apostrophe (O’Brien), and a pair
# of single quotes around words is a phrase too.
_DOUBLE_QUOTES = str.maketrans(dict.fromkeys("“”„‟«»〝〞＂", '"'))
_APOSTROPHE = re.compile(r"(?<=\w)[’‘‛′](?=\w)")
_SINGLE_QUOTED = re.compile(r"[‘‚‛]([^‘’‚‛]*)’")
# Fields a reader may name in a query: `title:`, `author:` (the byline), `dateline:`.
QUERY_FIELDS = ("title", "author", "dateline")
_UNKNOWN_FIELD = re.compile(
    r"(?<![\w:])(?!(?:" + "|".join(QUERY_FIELDS) + r"):)[^\W\d_]+:(?=[\w\"(])"
)


def clean_query(text: str) -> str:
    """Return the query text made safe to parse: one line, capped, `-x` as `NOT x`,
    typographic quotes as straight ones."""
    text = normalise_line(_CONTROL.sub(" ", text))[:MAX_QUERY_CHARS]
    text = _APOSTROPHE.sub("'", text.translate(_DOUBLE_QUOTES))
    text = _SINGLE_QUOTED.sub(r'"\1"', text).replace("’", "'").replace("‘", "'")
    text = _UNKNOWN_FIELD.sub("", text)  # `author:smith` searches for smith
    text = _LONE_WILDCARD.sub(" ", text)
    text = _MINUS.sub("NOT ", text)
    return " ".join(text.split())


# --- the word being typed ------------------------------------------------------------------

MIN_TYPED_LETTERS = 2
_LAST_WORD = re.compile(r"(?:^|[\s(])(\w+)$")


def being_typed(request: SearchRequest, text: str) -> str:
    """The last word of the query if the reader is still typing it, else ""."""
    if not request.typing or not request.query or request.query[-1].isspace():
        return ""
    if text.count('"') % 2:  # inside a phrase
        return ""
    match = _LAST_WORD.search(text)
    if match is None:
        return ""
    word = match.group(1)
    if len(word) < MIN_TYPED_LETTERS or word.isdigit() or word in {"AND", "OR", "NOT"}:
        return ""
    before = text[: match.start(1)].split()
    if before and before[-1] == "NOT":  # an exclusion is matched as written
        return ""
    return word


# --- the neutral form ---------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One word or one phrase of a query, perhaps limited to a field, perhaps excluded."""

    words: tuple[str, ...]
    field: str = ""  # "" (title and text), or one of QUERY_FIELDS
    excluded: bool = False
    prefix: bool = False  # `word*`, or the word being typed

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1

    @property
    def text(self) -> str:
        """The clause as the reader wrote it (without field or exclusion)."""
        return f'"{" ".join(self.words)}"' if self.phrase else self.words[0]


@dataclass
class ParsedQuery:
    """A query in the neutral form: its clauses in order, and how they combine."""

    clauses: list[Clause] = field(default_factory=list)
    any_word: bool = False  # `OR` between words: any of them will do
    typed: str = ""  # the last word, still being typed (matched as a prefix)

    @property
    def required(self) -> list[Clause]:
        return [clause for clause in self.clauses if not clause.excluded]

    @property
    def excluded(self) -> list[Clause]:
        return [clause for clause in self.clauses if clause.excluded]

    @property
    def words(self) -> list[str]:
        """Every word the reader looks for (excluded ones left out), in order."""
        return [word for clause in self.required for word in clause.words]


_PIECE = re.compile(
    r"(?P<field>(?:" + "|".join(QUERY_FIELDS) + r"):)?"
    r'(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"()]+))'
)


def parse(request: SearchRequest | str) -> ParsedQuery:
    """The request's query in the neutral form (cleaned first; see `clean_query`)."""
    request = SearchRequest(query=request) if isinstance(request, str) else request
    text = clean_query(request.query)
    typed = being_typed(request, text)
    parsed = ParsedQuery(typed=typed)
    excluded = False
    for piece in _PIECE.finditer(text):
        word, phrase = piece.group("word"), piece.group("phrase")
        if word in {"AND", "ANDNOT"}:
            excluded = word == "ANDNOT"
            continue
        if word == "OR":
            parsed.any_word = True
            continue
        if word == "NOT":
            excluded = True
            continue
        prefix = bool(word) and word.endswith("*")
        words = tuple(WORD.findall(phrase if phrase is not None else word))
        if words:
            field_name = (piece.group("field") or "").rstrip(":")
            parsed.clauses.append(Clause(words, field_name, excluded, prefix))
        excluded = False
    if typed and parsed.clauses and parsed.clauses[-1].words == (typed,):
        last = parsed.clauses[-1]
        parsed.clauses[-1] = Clause(last.words, last.field, last.excluded, prefix=True)
    return parsed
