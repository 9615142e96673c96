"""One term pipeline for every part of Precis: tokenise, lower-case, drop stop words, stem.

The index (every backend), the query, the highlighter and the digests all turn text into
terms here, so a word the search page marks is a word the query-focused digest counts:
for the query "first", `digest(article, query="first")` and the search page's digest pick
the same sentences.

- Tokens are runs of word characters, with inner dots kept (`U.S`, `3.5`).
- Stop words are sumy's list for the language; for English, less the words that carry
  news ("new", "first", "may", "us" as in the US...).
- Stems are Snowball's (Porter2 for English), from PyStemmer (the Snowball project's C
  stemmers), for the 16 languages listed; other languages are stemmed as English (their
  words mostly pass through unchanged). NLTK's pure-Python copy gives the same stems but
  for 49 of 28,541 English words ("added": "ad" there, "add" here); importing it loads all
  of NLTK, 70 MB in every server process.

`Stemmer` is a picklable callable: the Whoosh backend stores its analyzers in the index.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import cache, lru_cache

from sumy.utils import get_stop_words

# Snowball stems these languages: code -> the name NLTK and sumy use.
LANGUAGES = {
    "ar": "arabic",
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
_ALIASES = {name: code for code, name in LANGUAGES.items()} | {"nb": "no", "nn": "no"}
TOKEN = re.compile(r"\w+(?:\.?\w+)*", re.UNICODE)
MIN_TERM_LETTERS = 2  # one-letter words are not terms
# Function words are not indexed: sumy's English list (580 words), less the words that carry
# news. Whoosh's own list is 35 words.
NEWS_WORDS = frozenset(
    "new first last second third best right old help value us may will well long "
    "little great part next early late home show".split()
)


def language_code(language: str) -> str:
    """The code of an article's language among LANGUAGES ("en" when Snowball can't stem it):
    accepts "fr", "fr-CA", "french"."""
    key = language.strip().lower().replace("_", "-").split("-")[0]
    if key in LANGUAGES:
        return key
    return _ALIASES.get(key, "en")


@cache
def stop_words(language: str = "en") -> frozenset[str]:
    """The words of `language` that are not terms."""
    code = language_code(language)
    try:
        words = frozenset(get_stop_words(LANGUAGES[code]))
    except LookupError:
        words = frozenset()
    return words - NEWS_WORDS if code == "en" else words


class Stemmer:
    """Snowball's stemmer for one language, with a cache; pickles as its language code."""

    def __init__(self, language: str = "en") -> None:
        self.code = language_code(language)
        self._stem = None

    def __call__(self, word: str) -> str:
        if self._stem is None:
            self._stem = _cached_stem(self.code)
        return self._stem(word)

    def __getstate__(self) -> dict:
        return {"code": self.code}

    def __setstate__(self, state: dict) -> None:
        self.code, self._stem = state["code"], None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stemmer) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)

    def __repr__(self) -> str:
        return f"Stemmer({self.code!r})"


_THREAD = threading.local()


def _snowball(code: str):
    """This thread's PyStemmer stemmer for `code`: a stemmer object is not thread-safe."""
    stemmers = _THREAD.__dict__.setdefault("stemmers", {})
    found = stemmers.get(code)
    if found is None:
        import Stemmer as pystemmer

        found = stemmers[code] = pystemmer.Stemmer(LANGUAGES[code], 0)  # cached below
    return found


@cache
def _cached_stem(code: str):
    @lru_cache(maxsize=200_000)
    def stem(word: str) -> str:
        return _snowball(code).stemWord(word)

    return stem


@cache
def stemmer(language: str = "en") -> Stemmer:
    """The shared stemmer of `language`."""
    return Stemmer(language)


def tokens(text: str) -> Iterator[re.Match[str]]:
    """The word tokens of `text`, with their places (`match.span()`)."""
    return TOKEN.finditer(text)


def term(word: str, language: str = "en") -> str | None:
    """The term of one token (any case), or None for a stop word or a one-letter word."""
    lowered = word.lower()
    if len(lowered) < MIN_TERM_LETTERS or lowered in stop_words(language):
        return None
    return stemmer(language)(lowered)


def terms(text: str, language: str = "en") -> list[str]:
    """The terms of `text` in order (repeats kept)."""
    stop = stop_words(language)
    stem = stemmer(language)
    found = []
    for token in TOKEN.findall(text):
        lowered = token.lower()
        if len(lowered) >= MIN_TERM_LETTERS and lowered not in stop:
            found.append(stem(lowered))
    return found


def distinct_terms(text: str, language: str = "en") -> list[str]:
    """The distinct terms of `text`, sorted."""
    return sorted(set(terms(text, language)))


def term_spans(text: str, wanted: frozenset[str], language: str = "en") -> list[tuple[int, int]]:
    """The (start, end) places in `text` of the tokens whose term is in `wanted`."""
    if not wanted:
        return []
    spans = []
    for token in TOKEN.finditer(text):
        found = term(token.group(), language)
        if found is not None and found in wanted:
            spans.append(token.span())
    return spans
