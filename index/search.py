"""Search over the Whoosh archive: parse, match paragraphs, group by article, highlight.

Flow: the query is parsed leniently (all terms preferred; any term when all-terms
finds nothing), matched against paragraph documents (text and title), the top
paragraph hits are grouped into one result per article (ranked by the best
paragraph, with a small bonus for each further matching paragraph), and only the
paragraphs shown are highlighted, with `<mark>` around the query terms and every
other character HTML-escaped. The digest comes from the stored article record.
"""

from __future__ import annotations

from whoosh import highlight
from whoosh.qparser import (
    AndGroup,
    BoostPlugin,
    FieldsPlugin,
    GtLtPlugin,
    MultifieldParser,
    OrGroup,
    RangePlugin,
    WildcardPlugin,
)
from whoosh.query import NullQuery, Query, Term

from .models import ArticleResult, Hit, SearchPage
from .store import ANALYZER, WhooshArchive

HITS_PER_ARTICLE = 3
PARAGRAPH_WINDOW = 300  # paragraph hits read per round when grouping into articles
MAX_QUERY_CHARS = 1000
EXTRA_PARAGRAPH_BONUS = 0.05  # per further matching paragraph, as a share of the best score

_FORMATTER = highlight.HtmlFormatter(tagname="mark", classname="hit", termclass="t", between=" … ")
_CROP = highlight.ContextFragmenter(maxchars=320, surround=110)
_WHOLE = highlight.WholeFragmenter()


def _parser(schema, group) -> MultifieldParser:
    parser = MultifieldParser(["title", "text"], schema, fieldboosts={"title": 0.5}, group=group)
    for plugin in (FieldsPlugin, WildcardPlugin, BoostPlugin, RangePlugin, GtLtPlugin):
        parser.remove_plugin_class(plugin)
    return parser


def parse_query(schema, text: str, *, any_term: bool = False) -> Query:
    """Parse user text into a Whoosh query; text that yields no terms gives NullQuery."""
    text = " ".join(text[:MAX_QUERY_CHARS].split())
    if not text:
        return NullQuery
    query = _parser(schema, OrGroup if any_term else AndGroup).parse(text)
    return query if next(query.iter_all_terms(), None) else NullQuery


def search_page(
    archive: WhooshArchive, text: str, *, page: int = 1, per_page: int = 10
) -> SearchPage:
    """Return one page of article results for the query `text`."""
    searcher = archive.searcher()
    query = parse_query(searcher.schema, text)
    if query is NullQuery:
        message = (
            "Type a word or a phrase to search the archive."
            if not text.strip()
            else ("That query has no words to search for.")
        )
        return SearchPage(text, 0, page, per_page, [], message)
    groups, total = _grouped(searcher, query, page * per_page)
    message = ""
    if total == 0:
        query = parse_query(searcher.schema, text, any_term=True)
        groups, total = _grouped(searcher, query, page * per_page)
        if total:
            message = "No article has all of these words; showing articles with some of them."
        else:
            message = "No article matches that search."
    results = [
        _result(archive, searcher, query, article_id, hits)
        for article_id, hits in groups[(page - 1) * per_page : page * per_page]
    ]
    return SearchPage(text, total, page, per_page, results, message)


def _grouped(searcher, query: Query, wanted: int) -> tuple[list[tuple[str, list]], int]:
    """Group paragraph hits by article; return the best `wanted` groups and the article total.

    Each group is (article id, [(score, docnum), ...]) ranked by the best paragraph's
    score plus a small bonus per further matching paragraph.
    """
    if searcher.doc_count_all() == 0:
        return [], 0
    query = query & Term("kind", "para")
    articles = searcher.reader().column_reader("article")
    limit = PARAGRAPH_WINDOW
    while True:
        results = searcher.search(query, limit=limit)
        groups: dict[str, list[tuple[float, int]]] = {}
        for score, docnum in results.top_n:
            groups.setdefault(articles[docnum], []).append((score, docnum))
        if len(groups) >= wanted or len(results.top_n) < limit:
            break
        limit *= 4
    total = len({articles[n] for n in results.docs()}) if results.top_n else 0

    def rank(item: tuple[str, list[tuple[float, int]]]) -> float:
        hits = item[1]
        return hits[0][0] * (1 + EXTRA_PARAGRAPH_BONUS * (len(hits) - 1))

    ranked = sorted(groups.items(), key=rank, reverse=True)
    return [(article_id, hits) for article_id, hits in ranked][:wanted], total


def _result(archive: WhooshArchive, searcher, query: Query, article_id: str, hits) -> ArticleResult:
    stored = archive.get(article_id)
    if stored is None:  # the record vanished between match and lookup (a concurrent write)
        raise LookupError(article_id)
    article = stored.article
    terms = {text for field, text in query.iter_all_terms() if field in ("text", "title")}
    shown = sorted(hits[:HITS_PER_ARTICLE], key=lambda hit: hit[1])
    best = hits[0][0]
    return ArticleResult(
        id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        category=article.category,
        url=article.url,
        score=round(best * (1 + EXTRA_PARAGRAPH_BONUS * (len(hits) - 1)), 4),
        digest=stored.digest.sentences,
        hits=[_hit(searcher.stored_fields(docnum), terms) for _, docnum in shown],
    )


def _hit(fields: dict, terms: set[str]) -> Hit:
    return Hit(paragraph=fields["para"], html=highlight_text(fields["text"], terms))


def highlight_text(text: str, terms: set[str]) -> str:
    """Return `text` HTML-escaped, with query terms in <mark>, cropped around the hits."""
    from markupsafe import escape

    fragmenter = _WHOLE if len(text) <= _CROP.maxchars else _CROP
    marked = highlight.highlight(text, frozenset(terms), ANALYZER, fragmenter, _FORMATTER, top=2)
    return marked or str(escape(text[:320]))
