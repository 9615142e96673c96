"""The Whoosh index's schema, analyzers and ranking model.

Paragraph documents and article records share one schema (see `store`). Text is analysed
with `index.terms`'s pipeline, so the index's terms are those that digests and highlights
compute.
"""

from __future__ import annotations

from functools import cache

from whoosh.analysis import (
    Analyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, NUMERIC, STORED, TEXT, Schema

from ..terms import LANGUAGES, MIN_TERM_LETTERS, TOKEN, language_code, stemmer, stop_words
from .workarounds import ParagraphBM25

# Bumped whenever the schema or the analyzer changes; an older index must be rebuilt.
SCHEMA_VERSION = 7
# Languages the index stems (index.terms.LANGUAGES): their paragraphs go in `text_<code>`.
OTHER_LANGUAGES = tuple(code for code in LANGUAGES if code != "en")


def text_field(language: str) -> str:
    """Return the name of the field that holds paragraphs in `language`."""
    code = language_code(language)
    return "text" if code == "en" else f"text_{code}"


@cache
def analyzer_for(language: str) -> Analyzer:
    """The Whoosh analyzer of `language`: `index.terms`'s pipeline (its tokens, stop words
    and stemmer), so the index's terms are the ones digests and highlights compute."""
    code = language_code(language)
    return (
        RegexTokenizer(TOKEN.pattern)
        | LowercaseFilter()
        | StopFilter(stoplist=stop_words(code), minsize=MIN_TERM_LETTERS)
        | StemFilter(stemfn=stemmer(code), cachesize=None)  # the stemmer has its cache
    )


ANALYZER = analyzer_for("en")


# K1 = 1.2 is the usual choice; B = 0.6 normalises paragraph length a little less than the
# textbook 0.75 (chosen on the TIME and NPL test collections, see docs/benchmarks.md).
WEIGHTING = ParagraphBM25(B=0.6, K1=1.2)


def make_schema() -> Schema:
    """Return the Whoosh schema shared by paragraph documents and article records."""
    other_languages = {
        f"text_{code}": TEXT(analyzer=analyzer_for(code), phrase=True) for code in OTHER_LANGUAGES
    }
    return Schema(
        **other_languages,
        kind=ID(),
        article=ID(stored=True, sortable=True),
        para=NUMERIC(stored=True, sortable=True),
        # Paragraph text is indexed here but stored once, in the article record, which is
        # where hits are highlighted from; date, source and category are columns.
        text=TEXT(analyzer=ANALYZER, phrase=True, spelling=True),
        title=TEXT(analyzer=ANALYZER, stored=True, phrase=True),
        date=ID(sortable=True),
        source=ID(sortable=True),
        category=ID(sortable=True),
        author_name=ID(sortable=True),  # the author facet's column
        # The author and the dateline, searchable as `author:` and `dateline:` (indexed
        # once per article, on its first paragraph: matching is per article).
        author=TEXT(analyzer=ANALYZER),
        dateline=TEXT(analyzer=ANALYZER),
        language=ID(stored=True),
        hash=ID(sortable=True),
        origin=ID(sortable=True),
        # Versions of a story: its key, and the article's LSH band keys (28 numbers as
        # bytes, a column only: as index terms they doubled the index's size) from which
        # a write run builds the table that finds a new article's candidates.
        story=ID(sortable=True),
        bands=COLUMN(VarBytesColumn()),
        record=STORED(),
    )
