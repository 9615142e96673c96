"""Search over the Whoosh archive: parse, match articles, rank, highlight.

Flow for one request:

1. The query text is cleaned (control characters dropped, length capped, typographic
   quotes made straight, `-word` turned into `NOT word`, bare `*` removed) and parsed
   leniently: plain words, "phrases", NOT/-exclusion, OR, `title:` and `word*` prefixes.
   While the reader types (`SearchRequest.typing`), the last word stands for itself and
   the archive's commonest words that start with it.
2. Finished words of five letters or more that the archive has (almost) never seen get
   fuzzy alternatives (edit distance 1, or 2 from nine letters), and a "did you mean"
   suggestion is made from the archive's own (unstemmed) vocabulary.
3. Articles are matched (`matching`): every word required, in one paragraph or
   across several; words left out, and said, when no article has them all; more than six
   words read as a description (any word). Clauses are evaluated over the generation's
   arrays (`tables`), so the total and the facet counts (source, category, year;
   each counted without its own filter) cost a few array operations however many
   paragraphs match.
4. The page's articles are ranked (more of the words, then the best paragraph's score with
   article-level evidence and a proximity bonus), or listed newest first; a short last
   page is filled with articles that have some of the words, marked with those they lack.
   Only the paragraphs shown are highlighted: the places of the query's terms, as spans
   (`index.marking`); the pages and the CLI render them.
5. The digest shown is query-focused: stored candidate sentences holding query terms
   are preferred (`digest.focus`), and highlighted too.

An empty query lists the newest articles (with the same filters and facets).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
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

from ..articles import safe_url
from ..marking import mark
from ..models import (
    ArticleResult,
    DateBar,
    FacetCount,
    Hit,
    Marked,
    SearchPage,
    SearchRequest,
    StoredArticle,
    Version,
)
from ..paging import month_days, within_pages
from ..query import (
    FIELD_PREFIX,
    OPERATORS,
    QUERY_FIELDS,
    WORD,
    being_typed,
    clean_query,
)
from ..results import article_result
from .matching import Matched, Ranking, label_of, match, ranking, split_clauses
from .schema import ANALYZER, OTHER_LANGUAGES, WEIGHTING, make_schema
from .tables import Matches, Tables, term_scores
from .workarounds import terms_within

if TYPE_CHECKING:  # the store calls in with its snapshots
    from .store import Snapshot

HITS_PER_ARTICLE = 3
TITLE_BOOST = 0.5
SNIPPET_CHARS = 320
FEW_MATCHES = 2  # a word in fewer paragraphs than this gets fuzzy alternatives
TEXT_FIELDS = ("title", "text")
# Consecutive query words found near each other (within PROXIMITY_SLOP positions) add to
# the score, as in sequential-dependence ranking models.
PROXIMITY_BOOST = 0.15
PROXIMITY_SLOP = 6
PROXIMITY_RERANK = 100  # the best paragraphs by BM25 that the proximity bonus reorders


# --- the query --------------------------------------------------------------------------

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
    named = "|".join(QUERY_FIELDS)
    parser.add_plugin(FieldsPlugin(expr=rf"(?P<text>{named}):", remove_unknown=True))
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


# --- the word being typed ------------------------------------------------------------------

# How many of the archive's words a half-typed word stands for (the most frequent first),
# by its length: two letters stand for the ten commonest words that start with them.
TYPED_COMPLETIONS = {2: 10, 3: 20}
MOST_COMPLETIONS = 50
class _Parse:
    """Parses the query, the word being typed (if any) standing for its completions."""

    def __init__(self, searcher, tables: Tables, text: str, typed: str, fields) -> None:
        self.fields = fields
        self.text = text[: len(text) - len(typed)].rstrip() if typed else text
        self.completion, self.completed = None, frozenset()
        if typed:
            self.completion, self.completed = _completion(searcher, tables, typed, fields)

    def query(self) -> Query:
        """Every word required (exclusions kept), the word being typed among them."""
        base = parse_query(self.text, fields=self.fields)
        completion = self.completion
        if completion is None:
            return base
        if base is NullQuery:
            # Nothing to search for but the word being typed, and perhaps exclusions.
            rest = _parser(False, self.fields).parse(self.text) if self.text else NullQuery
            negatives = [rest] if isinstance(rest, Not) else []
            if isinstance(rest, And | Or):
                negatives = [c for c in rest.children() if isinstance(c, Not)]
            return And([completion, *negatives]) if negatives else completion
        children = list(base.children()) if isinstance(base, And) else [base]
        return And([*children, completion])


def _completion(searcher, tables: Tables, word: str, fields) -> tuple[Query | None, frozenset[str]]:
    """The query for a half-typed word: the word itself and the archive's words that
    start with it (at most TYPED_COMPLETIONS, the most frequent first), in every field;
    and the stems of those completions (other than the word's own)."""
    lowered = word.lower()
    own = [token.text for token in ANALYZER(lowered)]
    clauses: list[Query] = [Term("title", stem, boost=TITLE_BOOST) for stem in own]
    stems: dict[str, None] = dict.fromkeys(own)
    limit = TYPED_COMPLETIONS.get(len(lowered), MOST_COMPLETIONS)
    for completed in tables.completions(searcher, lowered, limit):
        stems.update(dict.fromkeys(token.text for token in ANALYZER(completed)))
    # Completions are looked for in the text only: a headline's words are in its article's
    # paragraphs too, and the title postings (one per paragraph) would double the reading.
    clauses.extend(Term("text", stem) for stem in stems)
    others = tuple(f for f in fields if f not in TEXT_FIELDS)
    if others:  # other languages: the word as written, through their own analyzers
        exact = parse_query(word, fields=others)
        if exact is not NullQuery:
            clauses.append(exact)
    return (Or(clauses) if clauses else None), frozenset(stems) - frozenset(own)


def _proximity(query: Query, skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The pairs of consecutive query words (English text terms) that score more when
    they occur close together, in order; words in `skip` (the completions of a word being
    typed) take no part."""
    words: list[str] = []

    def collect(node: Query) -> None:
        if isinstance(node, Not | Phrase):
            return
        if isinstance(node, Term) and node.fieldname == "text" and isinstance(node.text, str):
            if node.text not in skip:
                words.append(node.text)
        elif not node.is_leaf():
            for child in node.children():
                collect(child)

    collect(query)
    if not PROXIMITY_BOOST:
        return []
    return [(a, b) for a, b in zip(words, words[1:], strict=False) if a != b]


def _proximity_bonus(
    searcher, tables: Tables, pairs: list[tuple[str, str]], docnums: Iterable[int]
) -> dict[int, float]:
    """The bonus of each document where a pair's words occur in order within
    PROXIMITY_SLOP positions: PROXIMITY_BOOST times the pair's BM25 score there (what
    Whoosh's `Phrase(slop=...)` scores, computed for these documents only).

    Positions are read only for these documents: run over every match, span matching
    multiplied the time of a five-word query by four.
    """
    docs = sorted(set(docnums))
    bonus: dict[int, float] = {}
    if not pairs or not docs:
        return bonus
    wanted = np.array(docs, dtype=np.int32)
    scores = {}
    for word in {word for pair in pairs for word in pair}:
        found = term_scores(tables, searcher, "text", word, wanted)
        scores[word] = dict(zip(docs, found, strict=True))
    # Positions only where both words of a pair are (the scores say so without reading).
    both: dict[str, set[int]] = {}
    for a, b in pairs:
        holding = {doc for doc in docs if scores[a][doc] > 0 and scores[b][doc] > 0}
        both.setdefault(a, set()).update(holding)
        both.setdefault(b, set()).update(holding)
    positions = {
        word: tables.positions(searcher, "text", word, sorted(holding)) if holding else {}
        for word, holding in both.items()
    }
    for a, b in pairs:
        first, second = positions[a], positions[b]
        for doc in docs:
            if doc in first and doc in second and _near(first[doc], second[doc]):
                pair_score = scores[a][doc] + scores[b][doc]
                bonus[doc] = bonus.get(doc, 0.0) + PROXIMITY_BOOST * pair_score
    return bonus


def _near(first: list[int], second: list[int]) -> bool:
    """Whether some position of `second` follows one of `first` by 1..PROXIMITY_SLOP."""
    for position in first:
        after = bisect_right(second, position)
        if after < len(second) and second[after] - position <= PROXIMITY_SLOP:
            return True
    return False


def _has_positive(query: Query) -> bool:
    """Tell whether the query searches for something outside NOT clauses."""
    if isinstance(query, Not):
        return False
    if query.is_leaf():
        return _is_text(query.field()) or query.field() in QUERY_FIELDS
    return any(_has_positive(child) for child in query.children())


@dataclass
class _Typos:
    """Words that the archive barely knows, and the stems of their close spellings."""

    alternatives: dict[str, list[str]] = field(default_factory=dict)  # stem -> other stems
    suggestion: str = ""




def _typos(searcher, text: str, tables: Tables | None = None, skip: str = "") -> _Typos:
    """Find words of 5+ letters seen in fewer than FEW_MATCHES paragraphs, their close
    spellings in the archive (edit distance 1, or 2 from 9 letters) and a suggestion.

    `skip` is the word still being typed: half a word is not a typo."""
    typos = _Typos()
    reader = searcher.reader()
    replacements: dict[str, str] = {}
    for word in set(WORD.findall(FIELD_PREFIX.sub(" ", text))) - {skip}:
        if len(word) < 5 or word.isdigit() or word in {"AND", "OR", "NOT", "ANDNOT"}:
            continue
        stems = [token.text for token in ANALYZER(word)]
        if len(stems) != 1:
            continue
        stem = stems[0]
        if tables is not None:
            frequency = sum(tables.doc_frequency(searcher, f, stem) for f in TEXT_FIELDS)
        else:
            frequency = sum(searcher.doc_frequency(f, stem) for f in TEXT_FIELDS)
        if frequency >= FEW_MATCHES:
            continue
        distance = 2 if len(word) >= 9 else 1
        lowered = word.lower()
        # The text field's spelling words are unstemmed; the title's terms are stems.
        near_words = terms_within(reader, "text", lowered, distance)
        near = {token.text for w in near_words for token in ANALYZER(w)}
        near.update(terms_within(reader, "title", stem, distance))
        near.discard(stem)
        if near:
            typos.alternatives[stem] = sorted(near)[:20]
        best = _best_spelling(searcher, lowered, near_words)
        if best:
            replacements[word] = _in_case_of(word, best)
    if replacements:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, replacements)) + r")\b")
        typos.suggestion = pattern.sub(lambda m: replacements[m.group(1)], text)
    return typos


def _in_case_of(typed: str, word: str) -> str:
    """`word` in the case the reader typed: UPPER, Capitalised or lower."""
    if len(typed) > 1 and typed.isupper():
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


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


class _Found:
    """The articles a query matched, and which of them pass the filters."""

    def __init__(self, tables: Tables, articles: np.ndarray, request: SearchRequest) -> None:
        self.tables = tables
        self.articles = articles
        self.by_source = tables.passing(articles, source=request.source)
        self.by_category = tables.passing(articles, category=request.category)
        self.by_author = tables.passing(articles, author=request.author)
        self.by_date = tables.passing(
            articles, date_from=request.date_from, date_to=request.date_to
        )
        self.passing = self.by_source & self.by_category & self.by_author & self.by_date
        self.selected = articles[self.passing]

    @property
    def total(self) -> int:
        return len(self.selected)

    def facets(self) -> dict[str, list[FacetCount]]:
        """Count matching articles per facet value, each facet ignoring its own filter."""
        tables = self.tables
        articles = self.articles
        facets = {
            "source": _counts(
                tables.article_source[articles[self.by_category & self.by_author & self.by_date]],
                tables.sources.values,
            ),
            "category": _counts(
                tables.article_category[articles[self.by_source & self.by_author & self.by_date]],
                tables.categories.values,
            ),
            "author": _counts(
                tables.article_author[articles[self.by_source & self.by_category & self.by_date]],
                tables.authors.values,
            ),
            "year": _counts(
                tables.article_year[articles[self.by_source & self.by_category & self.by_author]],
                tables.years.values,
            ),
        }
        facets["year"].sort(key=lambda count: count.value, reverse=True)
        return facets

    def histogram(self, request: SearchRequest) -> list[DateBar]:
        """Matching articles per year, or per month when the dates span three years or
        less (those of the date filter if set, else the matching articles' own); the
        other filters apply, the date filter does not, as for a facet."""
        others = self.by_source & self.by_category & self.by_author
        days = self.tables.article_day[self.articles[others]]
        days = days[days > 0]
        if not len(days):
            return []
        low, high = int(days.min()), int(days.max())
        if request.date_from:
            low = max(low, int(request.date_from.replace("-", "")))
        if request.date_to:
            high = min(high, int(request.date_to.replace("-", "")))
        days = days[(days >= low) & (days <= high)]
        if not len(days):
            return []
        years = days // 10000
        first_year, last_year = low // 10000, high // 10000
        if last_year - first_year < 3:  # months, empty ones included
            first_month = first_year * 12 + low // 100 % 100 - 1
            last_month = last_year * 12 + high // 100 % 100 - 1
            months = years * 12 + (days // 100 % 100 - 1) - first_month
            counts = np.bincount(months, minlength=last_month - first_month + 1)
            bars = []
            for offset, count in enumerate(counts.tolist()):
                year, month = divmod(first_month + offset, 12)
                label = f"{year}-{month + 1:02}"
                end = f"{label}-{month_days(year, month + 1)}"
                bars.append(DateBar(label, f"{label}-01", end, int(count)))
            return bars
        counts = np.bincount(years - first_year, minlength=last_year - first_year + 1)
        return [
            DateBar(str(first_year + n), f"{first_year + n}-01-01", f"{first_year + n}-12-31", c)
            for n, c in enumerate(counts.tolist())
        ]


def _counts(codes: np.ndarray, values: list[str]) -> list[FacetCount]:
    codes = codes[codes >= 0]
    if not len(codes):
        return []
    counts = np.bincount(codes, minlength=len(values))
    present = np.flatnonzero(counts)
    found = [FacetCount(values[code], int(counts[code])) for code in present.tolist()]
    return sorted(found, key=lambda count: (-count.count, count.value))


def _ranked(
    searcher,
    tables: Tables,
    rank: Ranking,
    selected: np.ndarray,
    near: list[tuple[str, str]],
    wanted: int,
) -> list[tuple[int, float, list[tuple[float, int]]]]:
    """The best `wanted` of the `selected` articles, each with its scored paragraph hits.

    The proximity bonus of `near` can raise an article's best paragraph by at most
    2 * PROXIMITY_BOOST of its score, so positions are read only for the articles that
    could then still reach the first `wanted`, and only for their paragraphs that could
    become the best.
    """
    order, best, bonus = _with_proximity(searcher, tables, rank, selected, near, wanted)
    shown = order[:wanted]
    final = rank.score(shown, best[shown]).tolist()
    doc_article = tables.doc_article[rank.docs]
    matches = Matches(rank.docs, rank.scores)
    groups = []
    for article, score in zip(shown.tolist(), final, strict=True):
        hits = _hits_of(matches, doc_article, article)
        if bonus:
            hits = sorted(
                ((score + bonus.get(doc, 0.0), doc) for score, doc in hits),
                key=lambda hit: (-hit[0], hit[1]),
            )
        groups.append((article, score, hits))
    return groups


def _with_proximity(
    searcher,
    tables: Tables,
    rank: Ranking,
    selected: np.ndarray,
    near: list[tuple[str, str]],
    wanted: int,
) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """The `selected` articles best first with the proximity bonus of `near`, each
    article's best paragraph score with it, and the bonus per paragraph (see `_ranked`:
    reckoned for the first `wanted`)."""
    scores = rank.score(selected)
    order = rank.order(selected, scores)
    bonus: dict[int, float] = {}
    best = rank.best
    if near and len(order):
        kth = order[min(wanted, len(order)) - 1]
        threshold = float(rank.score(np.array([kth]))[0])
        lift = 1 + 2 * PROXIMITY_BOOST
        bound = rank.score(selected, rank.best[selected] * lift)
        words = rank.words[selected]
        could = (words > rank.words[kth]) | ((words == rank.words[kth]) & (bound >= threshold))
        candidates = np.zeros(len(rank.words), dtype=bool)
        candidates[selected[could]] = True
        articles = tables.doc_article[rank.docs]
        checked = candidates[articles] & (rank.scores * lift >= rank.best[articles])
        docs, doc_scores = rank.docs[checked], rank.scores[checked]
        if len(docs) > PROXIMITY_RERANK:
            docs = docs[np.argsort(-doc_scores, kind="stable")[:PROXIMITY_RERANK]]
        bonus = _proximity_bonus(searcher, tables, near, docs.tolist())
        if bonus:
            best = rank.best.copy()
            for doc, extra in bonus.items():
                article = int(tables.doc_article[doc])
                best[article] = max(
                    best[article], float(rank.scores[np.searchsorted(rank.docs, doc)]) + extra
                )
            order = rank.order(selected, rank.score(selected, best[selected]))
    return order, best, bonus


def _best_first(found: Matches) -> np.ndarray:
    """Positions in `found` best first by score (ties by document number)."""
    return np.lexsort((found.docs, -found.scores))


def _hits_of(matches: Matches, doc_article: np.ndarray, article: int) -> list[tuple[float, int]]:
    """One article's matching paragraphs, best first (`doc_article`: each match's article)."""
    mine = doc_article == article
    part = Matches(matches.docs[mine], matches.scores[mine])
    order = _best_first(part)
    return list(zip(part.scores[order].tolist(), part.docs[order].tolist(), strict=True))


# --- the page ------------------------------------------------------------------------------


def _prepare(
    searcher, tables: Tables, text: str, request: SearchRequest
) -> tuple[Query, _Typos, Matched, list[tuple[str, str]], _Found] | None:
    """The steps of a search before ranking, for the cleaned query `text`: the query
    (rare words with their close spellings), the typos, the matched articles, the word
    pairs of the proximity bonus and the articles passing the filters; None when the
    query has no words to search for."""
    fields = searched_fields(searcher)
    typed = being_typed(request, text)
    parse = _Parse(searcher, tables, text, typed, fields)
    query = parse.query()
    if query is NullQuery:
        return None

    typos = _Typos() if request.description else _typos(searcher, text, tables, skip=typed)
    positives, negatives = split_clauses(query)
    labelled = [
        (typed if clause is parse.completion else label_of(clause, parse.text), clause)
        for clause in positives
    ]
    typed_at = next((n for n, c in enumerate(positives) if c is parse.completion), None)
    tolerant = [(label, _tolerant(clause, typos)) for label, clause in labelled]
    query = And([c for _, c in tolerant] + [Not(n) for n in negatives])
    words = len([w for w in WORD.findall(FIELD_PREFIX.sub(" ", text)) if w not in OPERATORS])
    matched = match(tables, searcher, WEIGHTING, tolerant, negatives, typed=typed_at, words=words)
    kept = [clause for n, (_, clause) in enumerate(tolerant) if matched.kept(n)]
    near = [] if request.description else _proximity(And(kept), parse.completed)
    found = _Found(tables, matched.articles, request)
    return query, typos, matched, near, found


def search_page(snapshot: Snapshot, request: SearchRequest) -> SearchPage:
    """Return one page of article results for `request` from one generation."""
    searcher = snapshot.searcher
    tables = snapshot.tables
    text = clean_query(request.query)
    if searcher.doc_count_all() == 0:
        return SearchPage(request, 0, [], "The archive is empty: add some articles first.")
    if not text:
        return _latest(snapshot, request)
    prepared = _prepare(searcher, tables, text, request)
    if prepared is None:
        return SearchPage(request, 0, [], "That query has no words to search for.")
    query, typos, matched, near, found = prepared

    total = found.total
    message = ""
    if matched.any_word and total:
        message = "A long query: showing articles with any of its words, the best matches first."
    elif matched.dropped and total:
        left_out = ", ".join(f"“{label}”" for label in matched.dropped)
        message = f"No article has all of these words; left out: {left_out}."
    elif not total:
        message = "No article matches that search"
        message += " with these filters." if request.filtered else "."
    elif typos.alternatives:
        message = "Some words were not found as typed; close matches are included."

    groups: list[tuple[int, float, list[tuple[float, int]]]] = []
    if total:
        rank = ranking(tables, matched, found.selected)
        selected = found.selected
        if request.group and tables.grouped:  # one result per story: its best version
            scores = rank.score(selected)
            selected = tables.one_per_story(rank.order(selected, scores))
            total = len(selected)
    request = within_pages(request, total)
    first = (request.page - 1) * request.per_page
    if total:
        if request.sort == "date":
            if matched.any_word:
                # A description sorted by date: the articles with the most of its words.
                words = rank.words[selected]
                selected = selected[words == words.max()]
                total = len(selected)
            order = np.lexsort((-tables.id_rank[selected], -tables.article_day[selected]))
            page_articles = selected[order][first : first + request.per_page]
            shown = Matches(rank.docs, rank.scores)
            doc_article = tables.doc_article[shown.docs]
            scores = rank.score(page_articles).tolist()
            groups = [
                (a, score, _hits_of(shown, doc_article, a))
                for a, score in zip(page_articles.tolist(), scores, strict=True)
            ]
        else:
            groups = _ranked(searcher, tables, rank, selected, near, first + request.per_page)[
                first:
            ]
    missing: dict[int, list[str]] = {}
    room = request.per_page - len(groups)
    if room > 0 and total and first < total + request.per_page and request.sort != "date":
        below = _fill(searcher, tables, matched, request, near, room)
        missing = {article: labels for article, _, _, labels in below}
        groups += [(article, score, hits) for article, score, hits, _ in below]
        if below and not message:
            have = "article has" if total == 1 else "articles have"
            message = f"Only {total} {have} all of these words; below, articles with some."

    if request.group and tables.grouped:  # a story already on the page is not filled in
        seen: set[int] = set()
        groups = [g for g in groups if not _seen_story(tables, g[0], seen)]

    terms = _highlight_terms(searcher, query)
    results = [
        _result(searcher, tables, article, score, hits, terms, missing.get(article, []))
        if request.hits
        else _bare_result(searcher, tables, article, score, missing.get(article, []))
        for article, score, hits in groups
        if hits
    ]
    if request.group:
        for result, (article, _, _) in zip(results, groups, strict=False):
            result.versions = _versions(searcher, tables, article)
    return SearchPage(
        request,
        total,
        [r for r in results if r is not None],
        message,
        typos.suggestion if typos.suggestion != text else "",
        found.facets(),
        dropped=matched.dropped,
        histogram=found.histogram(request),
        dated=tables.dated,
    )


def _seen_story(tables: Tables, article: int, seen: set[int]) -> bool:
    story = int(tables.article_story[article])
    if story in seen:
        return True
    seen.add(story)
    return False


def versions_of(searcher, tables: Tables, article_id: str) -> list[Version]:
    """The other live articles of the story of the article with this id."""
    ordinal = tables.ordinal(article_id)
    return [] if ordinal is None else _versions(searcher, tables, ordinal)


def _versions(searcher, tables: Tables, article: int) -> list[Version]:
    """The other articles of an article's story, newest first."""
    versions = []
    for other in tables.versions_of(article).tolist():
        stored = _stored(searcher, tables, other)
        if stored is not None:
            a = stored.article
            versions.append(Version(a.id, a.headline, a.source, a.date, safe_url(a.url)))
    return versions


def _fill(
    searcher,
    tables: Tables,
    matched: Matched,
    request: SearchRequest,
    near: list[tuple[str, str]],
    room: int,
) -> list[tuple[int, float, list[tuple[float, int]], list[str]]]:
    """The best articles with some but not all of the (kept) words, to fill the last page
    of a short result list: most words first, each with the words it lacks."""
    if matched.any_word or len(matched.clauses) < 2:
        return []
    some = np.logical_or.reduce([clause.present for clause in matched.clauses])
    candidates = np.flatnonzero(some & ~matched.present).astype(np.int32)
    if not len(candidates):
        return []
    selected = _Found(tables, candidates, request).selected
    if not len(selected):
        return []
    rank = ranking(tables, matched, selected)
    rank.any_word = True
    return [
        (article, score, hits, [c.label for c in matched.clauses if not c.present[article]])
        for article, score, hits in _ranked(searcher, tables, rank, selected, near, room)
    ]


def _latest(snapshot: Snapshot, request: SearchRequest) -> SearchPage:
    """The newest articles passing the filters, for an empty query."""
    searcher = snapshot.searcher
    tables = snapshot.tables
    found = _Found(tables, tables.newest_first, request)  # keeps newest first
    selected = found.selected
    if request.group and tables.grouped:
        selected = tables.one_per_story(selected)
    request = within_pages(request, len(selected))
    first = (request.page - 1) * request.per_page
    results = []
    for article in selected[first : first + request.per_page].tolist():
        stored = _stored(searcher, tables, article)
        if stored is not None:
            results.append(article_result(stored, 0.0, [], frozenset()))
            if request.group:
                results[-1].versions = _versions(searcher, tables, article)
    return SearchPage(
        request,
        len(selected),
        results,
        "",
        "",
        found.facets(),
        histogram=found.histogram(request),
        dated=tables.dated,
    )


def _stored(searcher, tables: Tables, article: int) -> StoredArticle | None:
    record = int(tables.article_record[article])
    if record < 0:
        return None
    return tables.record(searcher, record)


def _bare_result(
    searcher, tables: Tables, article: int, score: float, missing: list[str]
) -> ArticleResult | None:
    """A result without hits or focused digest (`SearchRequest.hits` off)."""
    stored = _stored(searcher, tables, article)
    if stored is None:
        return None
    result = article_result(stored, score, [], frozenset())
    result.missing = missing
    return result


def _result(
    searcher,
    tables: Tables,
    article: int,
    score: float,
    hits,
    terms,
    missing: list[str],
    stored: StoredArticle | None = None,
) -> ArticleResult | None:
    if stored is None:
        stored = _stored(searcher, tables, article)
    if stored is None:
        return None
    shown = sorted(hits[:HITS_PER_ARTICLE], key=lambda hit: hit[1])
    paragraphs = stored.article.paragraphs
    numbers = tables.doc_para
    language = stored.article.language
    hit_list = [
        Hit(int(numbers[n]), mark(paragraphs[numbers[n]], terms, language)) for _, n in shown
    ]
    result = article_result(stored, score, hit_list, terms)
    result.missing = missing
    return result


# --- every match (exports) -------------------------------------------------------------------

EXPORT_BATCH = 256  # articles whose records are read together


def every_match(
    snapshot: Snapshot, request: SearchRequest
) -> Iterator[tuple[ArticleResult, StoredArticle]]:
    """Every article (or story) `search_page` counts in its total, in the same order, with
    the same scores and hits (best first here), and each one's stored article; for an empty
    query, every article passing the filters, newest first (see `Archive.every_match`).

    The steps are the page's (`_prepare`, `ranking`, one per story, the date order, the
    proximity bonus reckoned as for the first page), without its extras (facets,
    histogram, versions, the filling of a short last page). The hits of all the articles
    come from one sort of the matching paragraphs by article and score, so the cost grows
    with the matches, not with the matches times the articles.
    """
    searcher = snapshot.searcher
    tables = snapshot.tables
    if searcher.doc_count_all() == 0:
        return
    text = clean_query(request.query)
    if not text:
        selected = _Found(tables, tables.newest_first, request).selected
        if request.group and tables.grouped:
            selected = tables.one_per_story(selected)
        for start in range(0, len(selected), EXPORT_BATCH):
            batch = selected[start : start + EXPORT_BATCH]
            records = _records_of(searcher, tables, batch)
            for article in batch.tolist():
                stored = records.get(article)
                if stored is not None:
                    yield article_result(stored, 0.0, [], frozenset()), stored
        return
    prepared = _prepare(searcher, tables, text, request)
    if prepared is None:
        return
    query, _, matched, near, found = prepared
    if not found.total:
        return
    rank = ranking(tables, matched, found.selected)
    selected = found.selected
    if request.group and tables.grouped:
        selected = tables.one_per_story(rank.order(selected, rank.score(selected)))
    bonus: dict[int, float] = {}
    if request.sort == "date":
        if matched.any_word:
            words = rank.words[selected]
            selected = selected[words == words.max()]
        ordered = selected[np.lexsort((-tables.id_rank[selected], -tables.article_day[selected]))]
        scores = rank.score(ordered)
    else:
        ordered, best, bonus = _with_proximity(
            searcher, tables, rank, selected, near, request.per_page
        )
        scores = rank.score(ordered, best[ordered])
    # Every matching paragraph, by article, then best first (ties by document number).
    doc_article = tables.doc_article[rank.docs]
    by_article = np.lexsort((rank.docs, -rank.scores, doc_article))
    articles = doc_article[by_article]
    terms = _highlight_terms(searcher, query)
    for start in range(0, len(ordered), EXPORT_BATCH):
        batch = ordered[start : start + EXPORT_BATCH]
        lows = np.searchsorted(articles, batch, side="left").tolist()
        highs = np.searchsorted(articles, batch, side="right").tolist()
        records = _records_of(searcher, tables, batch)
        shown = zip(batch.tolist(), scores[start : start + EXPORT_BATCH].tolist(), strict=True)
        for (article, score), low, high in zip(shown, lows, highs, strict=True):
            mine = by_article[low:high]
            hits = list(zip(rank.scores[mine].tolist(), rank.docs[mine].tolist(), strict=True))
            if bonus:
                hits = sorted(
                    ((hit + bonus.get(doc, 0.0), doc) for hit, doc in hits),
                    key=lambda hit: (-hit[0], hit[1]),
                )
            stored = records.get(article)
            if not hits or stored is None:
                continue
            result = _result(searcher, tables, article, score, hits, terms, [], stored)
            if result is None:
                continue
            place = {int(tables.doc_para[doc]): n for n, (_, doc) in enumerate(hits)}
            result.hits.sort(key=lambda hit: place[hit.paragraph])
            yield result, stored


def _records_of(searcher, tables: Tables, articles: np.ndarray) -> dict[int, StoredArticle]:
    """The stored articles of these article ordinals, read in document order (not through
    the tables' small cache, which an export would only churn)."""
    records = tables.article_record[articles]
    found = {}
    for doc, article in sorted(zip(records.tolist(), articles.tolist(), strict=True)):
        if doc >= 0:
            found[article] = StoredArticle.from_json(searcher.stored_fields(doc)["record"])
    return found


# --- highlighting -------------------------------------------------------------------------


def highlight_article(
    snapshot: Snapshot,
    stored: StoredArticle,
    query_text: str,
    paragraphs: range | None = None,
) -> tuple[list[Marked], list[Marked]]:
    """Return paragraphs (all, or those in `paragraphs`) and each digest sentence with the
    query's words marked.

    Every word of the query counts (as if joined by OR), close spellings of rare words too,
    so a reader arriving from a search sees every hit.
    """
    searcher = snapshot.searcher
    text = clean_query(query_text)
    terms: frozenset[str] = frozenset()
    if text and searcher.doc_count_all():
        query = parse_query(text, any_term=True, fields=searched_fields(searcher))
        if query is not NullQuery:
            terms = _highlight_terms(searcher, _tolerant(query, _typos(searcher, text)))
    language = stored.article.language
    every = stored.article.paragraphs
    shown = every if paragraphs is None else [every[n] for n in paragraphs if n < len(every)]
    marked = [mark(p, terms, language, crop=False) for p in shown]
    digest = [mark(s.text, terms, language, crop=False) for s in stored.digest.sentences]
    return marked, digest
