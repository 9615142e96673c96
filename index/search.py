"""Search over the Whoosh archive: parse, match paragraphs, group by article, highlight.

Flow for one request:

1. The query text is cleaned (control characters dropped, length capped, `-word`
   turned into `NOT word`, bare `*` removed) and parsed leniently: plain words
   (all preferred), "phrases", NOT/-exclusion, OR, `title:` and `word*` prefixes.
2. Words of five letters or more that the archive has (almost) never seen get
   fuzzy alternatives (edit distance 1, or 2 from nine letters), and a "did you
   mean" suggestion is made from the archive's own (unstemmed) vocabulary.
3. Every matching paragraph is read once through per-document columns: that gives
   the total, the facet counts (source, category, year; each counted without its
   own filter) and the set of paragraphs that pass the filters.
4. The page's articles are chosen (best paragraph score with a small bonus per
   further matching paragraph, or newest first), and only the paragraphs shown are
   highlighted: `<mark>` around the query terms, every other character escaped.
5. The digest shown is query-focused: stored candidate sentences holding query terms
   are preferred (`digest.focus`), and highlighted too.

An empty query lists the newest articles (with the same filters and facets).
If all-terms finds nothing, any-term is tried and the reader is told.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import escape
from whoosh.analysis import Analyzer
from whoosh.qparser import (
    AndGroup,
    BoostPlugin,
    EveryPlugin,
    FieldsPlugin,
    GtLtPlugin,
    MultifieldParser,
    OrGroup,
    PrefixPlugin,
    RangePlugin,
    WildcardPlugin,
)
from whoosh.query import And, Not, NullQuery, Or, Phrase, Query, Term

from .articles import normalise_line, safe_url
from .digest import focus
from .models import ArticleResult, FacetCount, Hit, SearchPage, SearchRequest, StoredArticle
from .store import (
    ANALYZER,
    OTHER_LANGUAGES,
    WhooshArchive,
    analyzer_for,
    make_schema,
)

HITS_PER_ARTICLE = 3
PARAGRAPH_WINDOW = 300  # scored paragraph hits read per round when ranking articles
MAX_QUERY_CHARS = 500
EXTRA_PARAGRAPH_BONUS = 0.05  # per further matching paragraph, as a share of the best score
TITLE_BOOST = 0.5
SNIPPET_CHARS = 320
FEW_MATCHES = 2  # a word in fewer paragraphs than this gets fuzzy alternatives
TEXT_FIELDS = ("title", "text")
# Up to this many words, all must match (any-word is the announced fallback); a longer
# query is read as a description: any word may match, BM25 ranks the articles that match
# more of them higher, and sorting by date keeps to the articles with all of them. (Whoosh's
# own coordination bonus, Or(scale=...), crashes in whoosh3 3.54 on nested queries.)
ALL_TERMS_MAX_WORDS = 2
# Consecutive query words found near each other (within PROXIMITY_SLOP positions) add to
# the score, as in sequential-dependence ranking models.
PROXIMITY_BOOST = 0.15
PROXIMITY_SLOP = 6
PROXIMITY_RERANK = 100  # the best paragraphs by BM25 that the proximity bonus reorders
FACETS = ("source", "category", "year")


# --- the query --------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MINUS = re.compile(r'(?<![^\s(])-(?=[\w"(])')
_LONE_WILDCARD = re.compile(r"(?<![^\s(])\S?[*?]+(?=[\s)]|$)|[?]")
_WORD = re.compile(r"\w+", re.UNICODE)


def clean_query(text: str) -> str:
    """Return the query text made safe to parse: one line, capped, `-x` as `NOT x`."""
    text = normalise_line(_CONTROL.sub(" ", text))[:MAX_QUERY_CHARS]
    text = _LONE_WILDCARD.sub(" ", text)
    text = _MINUS.sub("NOT ", text)
    return " ".join(text.split())


def _is_text(fieldname: str | None) -> bool:
    return bool(fieldname) and (fieldname in TEXT_FIELDS or fieldname.startswith("text_"))


def searched_fields(searcher) -> tuple[str, ...]:
    """The fields a query runs over: title, English text, and each language present."""
    reader = searcher.reader()
    others = tuple(f"text_{code}" for code in OTHER_LANGUAGES)
    return TEXT_FIELDS + tuple(f for f in others if reader.field_length(f))


@lru_cache(maxsize=16)
def _parser(any_term: bool, fields: tuple[str, ...] = TEXT_FIELDS) -> MultifieldParser:
    # The schema is fixed by the code (see store.SCHEMA_VERSION), so parsers can be shared.
    parser = MultifieldParser(
        list(fields),
        make_schema(),
        fieldboosts={"title": TITLE_BOOST},
        group=OrGroup if any_term else AndGroup,
    )
    for plugin in (FieldsPlugin, WildcardPlugin, BoostPlugin, RangePlugin, GtLtPlugin, EveryPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(PrefixPlugin())
    parser.add_plugin(FieldsPlugin(expr=r"(?P<text>title):", remove_unknown=True))
    return parser


def parse_query(
    text: str, *, any_term: bool = False, fields: tuple[str, ...] = TEXT_FIELDS
) -> Query:
    """Parse cleaned query text; text that yields no searchable term gives NullQuery.

    With `any_term`, plain words are alternatives, but exclusions stay exclusions.
    """
    if not text:
        return NullQuery
    query = _parser(any_term, fields).parse(text)
    if not _has_positive(query):
        return NullQuery
    if any_term and isinstance(query, Or):
        negatives = [child for child in query.children() if isinstance(child, Not)]
        if negatives:
            positives = [child for child in query.children() if not isinstance(child, Not)]
            query = And([Or(positives), *negatives])
    return query


def _proximity(query: Query) -> Query | None:
    """A query for consecutive query words that occur close together, or None."""
    words: list[str] = []

    def collect(node: Query) -> None:
        if isinstance(node, Not | Phrase):
            return
        if isinstance(node, Term) and node.fieldname == "text" and isinstance(node.text, str):
            words.append(node.text)
        elif not node.is_leaf():
            for child in node.children():
                collect(child)

    collect(query)
    pairs = [(a, b) for a, b in zip(words, words[1:], strict=False) if a != b]
    if not PROXIMITY_BOOST or not pairs:
        return None
    return Or(
        [Phrase("text", list(pair), slop=PROXIMITY_SLOP, boost=PROXIMITY_BOOST) for pair in pairs]
    )


def _proximity_bonus(searcher, near: Query, docnums: Iterable[int]) -> dict[int, float]:
    """Score `near` on the given documents only, by skipping its matcher to each of them.

    Span matching is the costliest thing Whoosh does: run over every match, it multiplied
    the time of a five-word query by four, so it only reorders the best paragraphs.
    """
    bonus: dict[int, float] = {}
    matcher = near.matcher(searcher, searcher.context())
    for docnum in sorted(docnums):
        if not matcher.is_active():
            break
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                break
        if matcher.id() == docnum:
            bonus[docnum] = matcher.score()
    return bonus


def _paragraphs_only(query: Query) -> Query:
    """Restrict a query to paragraph documents when it could match article records.

    Text and title terms exist only in paragraph documents, so only a query with a NOT
    clause (which matches whatever lacks a word) needs the extra, costly, condition.
    """
    if _has_not(query):
        return query & Term("kind", "para")
    return query


def _has_not(query: Query) -> bool:
    if isinstance(query, Not):
        return True
    return not query.is_leaf() and any(_has_not(child) for child in query.children())


def _word_count(query: Query) -> int:
    """How many words or phrases an all-terms query asks for (exclusions aside)."""
    if isinstance(query, And):
        return sum(1 for child in query.children() if not isinstance(child, Not))
    return 1


def _has_positive(query: Query) -> bool:
    """Tell whether the query searches for something outside NOT clauses."""
    if isinstance(query, Not):
        return False
    if query.is_leaf():
        return _is_text(query.field())
    return any(_has_positive(child) for child in query.children())


@dataclass
class _Typos:
    """Words that the archive barely knows, and the stems of their close spellings."""

    alternatives: dict[str, list[str]] = field(default_factory=dict)  # stem -> other stems
    suggestion: str = ""


_FIELD_PREFIX = re.compile(r"\w+:")


def _typos(searcher, text: str) -> _Typos:
    """Find words of 5+ letters seen in fewer than FEW_MATCHES paragraphs, their close
    spellings in the archive (edit distance 1, or 2 from 9 letters) and a suggestion."""
    typos = _Typos()
    reader = searcher.reader()
    replacements: dict[str, str] = {}
    for word in set(_WORD.findall(_FIELD_PREFIX.sub(" ", text))):
        if len(word) < 5 or word.isdigit() or word in {"AND", "OR", "NOT", "ANDNOT"}:
            continue
        stems = [token.text for token in ANALYZER(word)]
        if len(stems) != 1:
            continue
        stem = stems[0]
        frequency = sum(searcher.doc_frequency(f, stem) for f in TEXT_FIELDS)
        if frequency >= FEW_MATCHES:
            continue
        distance = 2 if len(word) >= 9 else 1
        lowered = word.lower()
        # The text field's spelling words are unstemmed; the title's terms are stems.
        near_words = list(reader.terms_within("text", lowered, distance, prefix=1))
        near = {token.text for w in near_words for token in ANALYZER(w)}
        near.update(reader.terms_within("title", stem, distance, prefix=1))
        near.discard(stem)
        if near:
            typos.alternatives[stem] = sorted(near)[:20]
        best = _best_spelling(searcher, lowered, near_words)
        if best:
            replacements[word] = best
    if replacements:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, replacements)) + r")\b")
        typos.suggestion = pattern.sub(lambda m: replacements[m.group(1)], text)
    return typos


def _best_spelling(searcher, word: str, candidates: list[str]) -> str:
    """Pick the likeliest correction: the fewest edits, then the most frequent word."""
    if not candidates:
        return ""
    from whoosh.support.levenshtein import distance as edit_distance

    def key(candidate: str) -> tuple[int, int]:
        return (edit_distance(word, candidate), -searcher.doc_frequency("spell_text", candidate))

    best = min(candidates, key=key)
    return best if best != word else ""


def _tolerant(query: Query, typos: _Typos) -> Query:
    """Give rare words their close spellings as alternatives (never inside NOT)."""
    if not typos.alternatives:
        return query

    def rewrite(node: Query) -> Query:
        if isinstance(node, Not):
            return node
        if isinstance(node, Term) and _is_text(node.fieldname):
            others = typos.alternatives.get(node.text)
            if others:
                near = [Term(node.fieldname, o, boost=node.boost * 0.8) for o in others]
                return Or([node, *near])
            return node
        return node if node.is_leaf() else node.apply(rewrite)

    return rewrite(query)


def _highlight_terms(searcher, query: Query) -> frozenset[str]:
    """The index terms a hit may contain: the query's own, and those its prefixes and
    fuzzy terms expand to (outside NOT)."""
    terms: set[str] = set()
    reader = searcher.reader()

    def collect(node: Query) -> None:
        if isinstance(node, Not):
            return
        if node.is_leaf():
            for fieldname, text in node.existing_terms(reader, expand=True):
                if _is_text(fieldname):
                    terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
            for fieldname, text in node.iter_all_terms():
                if _is_text(fieldname) and isinstance(text, str):
                    terms.add(text)
            return
        for child in node.children():
            collect(child)

    collect(query)
    return frozenset(terms)


# --- matching, facets, ranking ------------------------------------------------------------


@dataclass
class _Match:
    """Every matching paragraph of one article, and the article's facet values."""

    paragraphs: list[int]
    source: str
    category: str
    date: str


def _passes(match: _Match, request: SearchRequest, skip: str = "") -> bool:
    if skip != "source" and request.source and match.source != request.source:
        return False
    if skip != "category" and request.category and match.category != request.category:
        return False
    if skip != "year":
        if request.date_from and (not match.date or match.date < request.date_from):
            return False
        if request.date_to and (not match.date or match.date > request.date_to):
            return False
    return True


def _matches(archive: WhooshArchive, docnums: Iterable[int]) -> dict[str, _Match]:
    columns = archive.columns()
    matches: dict[str, _Match] = {}
    for docnum in docnums:
        article_id = columns.article[docnum]
        match = matches.get(article_id)
        if match is None:
            match = matches[article_id] = _Match(
                [], columns.source[docnum], columns.category[docnum], columns.date[docnum]
            )
        match.paragraphs.append(docnum)
    return matches


def _facets(matches: dict[str, _Match], request: SearchRequest) -> dict[str, list[FacetCount]]:
    """Count matching articles per facet value, each facet ignoring its own filter."""
    counts = {name: Counter() for name in FACETS}
    for match in matches.values():
        if _passes(match, request, skip="source") and match.source:
            counts["source"][match.source] += 1
        if _passes(match, request, skip="category") and match.category:
            counts["category"][match.category] += 1
        if _passes(match, request, skip="year") and match.date:
            counts["year"][match.date[:4]] += 1
    facets = {
        name: [FacetCount(value, n) for value, n in sorted(c.items(), key=lambda i: (-i[1], i[0]))]
        for name, c in counts.items()
    }
    facets["year"].sort(key=lambda count: count.value, reverse=True)
    return facets


def _ranked(
    searcher,
    query: Query,
    near: Query | None,
    allowed: set[int] | None,
    archive: WhooshArchive,
    wanted: int,
) -> list[tuple[str, list[tuple[float, int]]]]:
    """The best `wanted` articles by relevance, each with its scored paragraph hits.

    The best PROXIMITY_RERANK paragraphs get the proximity bonus of `near` before grouping.
    """
    articles = archive.columns().article
    limit = PARAGRAPH_WINDOW
    while True:
        results = searcher.search(query, filter=allowed, limit=limit)
        top = list(results.top_n)
        if near is not None and top:
            head = top[:PROXIMITY_RERANK]
            bonus = _proximity_bonus(searcher, near, (docnum for _, docnum in head))
            head = [(score + bonus.get(docnum, 0.0), docnum) for score, docnum in head]
            top = sorted(head, key=lambda hit: (-hit[0], hit[1])) + top[PROXIMITY_RERANK:]
        groups: dict[str, list[tuple[float, int]]] = {}
        for score, docnum in top:
            groups.setdefault(articles[docnum], []).append((score, docnum))
        if len(groups) >= wanted or len(results.top_n) < limit:
            break
        limit *= 4
    ranked = sorted(groups.items(), key=lambda item: _article_score(item[1]), reverse=True)
    return ranked[:wanted]


def _article_score(hits: list[tuple[float, int]]) -> float:
    return hits[0][0] * (1 + EXTRA_PARAGRAPH_BONUS * (len(hits) - 1))


def _scored_hits(searcher, query: Query, docnums: list[int]) -> list[tuple[float, int]]:
    results = searcher.search(query, filter=set(docnums), limit=len(docnums))
    return list(results.top_n)


# --- the page ------------------------------------------------------------------------------


def search_page(archive: WhooshArchive, request: SearchRequest) -> SearchPage:
    """Return one page of article results for `request`."""
    searcher = archive.searcher()
    text = clean_query(request.query)
    if searcher.doc_count_all() == 0:
        return SearchPage(request, 0, [], "The archive is empty: add some articles first.")
    if not text:
        return _latest(archive, request)
    fields = searched_fields(searcher)
    query = parse_query(text, fields=fields)
    if query is NullQuery:
        return SearchPage(request, 0, [], "That query has no words to search for.")
    every_word = query
    if _word_count(query) > ALL_TERMS_MAX_WORDS:
        query = parse_query(text, any_term=True, fields=fields)

    typos = _typos(searcher, text)
    message = ""
    query = _tolerant(query, typos)
    near = _proximity(query)
    matches = _matches(archive, _paragraphs_only(query).docs(searcher))
    if not any(_passes(m, request) for m in matches.values()):
        wider = parse_query(text, any_term=True, fields=fields)
        if wider is not NullQuery and wider != query:
            wider = _tolerant(wider, typos)
            wider_matches = _matches(archive, _paragraphs_only(wider).docs(searcher))
            if any(_passes(m, request) for m in wider_matches.values()):
                query, matches = wider, wider_matches
                near = _proximity(wider)
                message = "No article has all of these words; showing articles with some of them."

    selected = {aid: m for aid, m in matches.items() if _passes(m, request)}
    total = len(selected)
    if not total:
        message = "No article matches that search"
        message += " with these filters." if request.filtered else "."
    elif typos.alternatives and not message:
        message = "Some words were not found as typed; close matches are included."

    first = (request.page - 1) * request.per_page
    scored = _paragraphs_only(query)
    if request.sort == "date":
        if query is not every_word and total:
            # A description sorted by date: the articles with all its words, if any.
            every = _paragraphs_only(_tolerant(every_word, typos))
            complete = _matches(archive, every.docs(searcher))
            narrowed = {aid: m for aid, m in complete.items() if aid in selected}
            if narrowed:
                selected, total = narrowed, len(narrowed)
        order = sorted(selected, key=lambda aid: (selected[aid].date, aid), reverse=True)
        page_ids = order[first : first + request.per_page]
        groups = [
            (aid, _scored_hits(searcher, scored, selected[aid].paragraphs)) for aid in page_ids
        ]
    elif total:
        allowed = {n for m in selected.values() for n in m.paragraphs} if request.filtered else None
        wanted = first + request.per_page
        groups = _ranked(searcher, scored, near, allowed, archive, wanted)[first:]
    else:
        groups = []

    terms = _highlight_terms(searcher, query)
    results = [_result(archive, searcher, aid, hits, terms) for aid, hits in groups if hits]
    return SearchPage(
        request,
        total,
        [r for r in results if r is not None],
        message,
        typos.suggestion if typos.suggestion != text else "",
        _facets(matches, request),
    )


def _latest(archive: WhooshArchive, request: SearchRequest) -> SearchPage:
    """The newest articles passing the filters, for an empty query."""
    searcher = archive.searcher()
    matches = _matches(archive, Term("kind", "article").docs(searcher))
    selected = sorted(
        (aid for aid, m in matches.items() if _passes(m, request)),
        key=lambda aid: (matches[aid].date, aid),
        reverse=True,
    )
    first = (request.page - 1) * request.per_page
    results = []
    for article_id in selected[first : first + request.per_page]:
        stored = archive.get(article_id)
        if stored is not None:
            results.append(_article_result(stored, 0.0, [], frozenset()))
    return SearchPage(request, len(selected), results, "", "", _facets(matches, request))


def _result(archive, searcher, article_id: str, hits, terms: frozenset[str]):
    stored = archive.get(article_id)
    if stored is None:  # removed between matching and reading (a concurrent write)
        return None
    shown = sorted(hits[:HITS_PER_ARTICLE], key=lambda hit: hit[1])
    paragraphs = stored.article.paragraphs
    numbers = archive.columns().para
    analyzer = analyzer_for(stored.article.language)
    hit_list = [
        Hit(numbers[n], highlight_text(paragraphs[numbers[n]], terms, analyzer=analyzer))
        for _, n in shown
    ]
    return _article_result(stored, _article_score(hits), hit_list, terms)


def _article_result(stored, score: float, hits: list[Hit], terms: frozenset[str]):
    article = stored.article
    digest = stored.digest.sentences
    if terms:
        digest = focus(stored.digest, stored.digest_pool, terms, article.paragraphs)
    return ArticleResult(
        id=article.id,
        title=article.headline,
        date=article.date,
        source=article.source,
        category=article.category,
        url=safe_url(article.url),
        score=round(score, 4),
        digest=digest,
        hits=hits,
        digest_html=[
            highlight_text(s.text, terms, crop=False, analyzer=analyzer_for(article.language))
            for s in digest
        ],
    )


# --- highlighting -------------------------------------------------------------------------


def highlight_text(
    text: str, terms: frozenset[str], *, crop: bool = True, analyzer: Analyzer = ANALYZER
) -> str:
    """Return `text` HTML-escaped with query terms in <mark>, cropped around the hits.

    Only our own `<mark>` tags are added; everything from the text is escaped.
    """
    spans = []
    if terms:
        spans = [
            (token.startchar, token.endchar)
            for token in analyzer(text, chars=True, mode="query", removestops=False)
            if token.text in terms
        ]
    start, end = 0, len(text)
    if crop and len(text) > SNIPPET_CHARS:
        start = _word_start(text, max(0, spans[0][0] - 80)) if spans else 0
        end = _word_end(text, min(len(text), start + SNIPPET_CHARS))
        if end == len(text):
            start = _word_start(text, max(0, end - SNIPPET_CHARS))
    parts = ["… " if start > 0 else ""]
    position = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        parts.append(str(escape(text[position:span_start])))
        parts.append(f"<mark>{escape(text[span_start:span_end])}</mark>")
        position = span_end
    parts.append(str(escape(text[position:end])))
    parts.append(" …" if end < len(text) else "")
    return "".join(parts)


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


def highlight_article(
    archive: WhooshArchive,
    stored: StoredArticle,
    query_text: str,
    paragraphs: range | None = None,
) -> tuple[list[str], list[str]]:
    """Return paragraphs (all, or those in `paragraphs`) and each digest sentence as HTML
    with the query's words marked.

    Every word of the query counts (as if joined by OR), close spellings of rare words too,
    so a reader arriving from a search sees every hit.
    """
    searcher = archive.searcher()
    text = clean_query(query_text)
    terms: frozenset[str] = frozenset()
    if text and searcher.doc_count_all():
        query = parse_query(text, any_term=True, fields=searched_fields(searcher))
        if query is not NullQuery:
            terms = _highlight_terms(searcher, _tolerant(query, _typos(searcher, text)))
    analyzer = analyzer_for(stored.article.language)
    every = stored.article.paragraphs
    shown = every if paragraphs is None else [every[n] for n in paragraphs if n < len(every)]
    html = [highlight_text(p, terms, crop=False, analyzer=analyzer) for p in shown]
    digest = [
        highlight_text(s.text, terms, crop=False, analyzer=analyzer)
        for s in stored.digest.sentences
    ]
    return html, digest
