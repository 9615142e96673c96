"""Search over the Typesense archive: the neutral query turned into Typesense's, one
result per article (or story) with `group_by`, facets each without their own filter,
hits marked from Typesense's matched tokens and the query's terms.

One request to the cluster per page (`multi_search`): the page itself, and one search per
active filter for the counts of the facet it filters (a facet ignores its own filter, as
with the Whoosh backend). A second request reads the page's article records, a third the
stories' other versions when grouping is on.

What Typesense 0.24 can't do the way the Whoosh backend does is listed in docs/scaling.md:
`OR` and descriptions are matched by dropping words rather than by any-word ranking, an
excluded field-limited clause is excluded everywhere, there is no "did you mean", and a
short last page is not filled with articles that have some of the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..articles import safe_url
from ..marking import mark
from ..models import (
    ArticleResult,
    Hit,
    Marked,
    SearchPage,
    SearchRequest,
    StoredArticle,
    Version,
)
from ..paging import date_bars, facet_counts, within_pages
from ..query import Clause, ParsedQuery, parse
from ..results import article_result
from ..terms import term, terms
from .store import article_key, facet_label, quoted, value_key

if TYPE_CHECKING:
    from .store import TypesenseArchive

HITS_PER_ARTICLE = 3
DESCRIPTION_WORDS = 6  # more words than this read as a description: any of them will do
MAX_FACET_VALUES = 100
MAX_MONTHS = 1200
TEXT_FIELDS = "stems,title_stems"
TEXT_WEIGHTS = "2,1"  # the headline counts half, as TITLE_BOOST in the Whoosh backend
_FILTERED_FACETS = {  # a filter of the request, and the facets it must not narrow
    "source": ("source",),
    "category": ("category",),
    "author": ("author",),
    "date": ("year", "month"),
}


def _stems(words: Iterable[str]) -> list[str]:
    return [found for word in words if (found := term(word)) is not None]


def typed_prefix(word: str) -> str:
    """What a word being typed is matched as, a prefix of the paragraphs' terms: its own
    term ("ferries" -> "ferri", which "ferri" itself starts with; "libr" stays "libr"), or
    the word as typed when it is a stop word so far ("the" on the way to "theatre")."""
    return term(word) or word.lower()


def _query_text(parsed: ParsedQuery) -> tuple[str, list[str], list[str]]:
    """Typesense's `q`, its filters for field-limited clauses, and the query's stems."""
    pieces: list[str] = []
    filters: list[str] = []
    wanted: list[str] = []
    typed: Clause | None = None
    for clause in parsed.clauses:
        simple = not (clause.excluded or clause.field or clause.phrase)
        if clause.prefix and simple and typed is None:
            typed = clause  # Typesense completes the last word only: it goes last
            continue
        stems = _stems(clause.words)
        if not stems:
            continue
        if clause.excluded:
            pieces.append(f'-"{" ".join(stems)}"' if clause.phrase else f"-{stems[0]}")
            continue
        wanted.extend(stems)
        if clause.field:
            field = f"{clause.field}_stems"
            filters.extend(f"{field}:{quoted(stem)}" for stem in stems)
        elif clause.phrase:
            pieces.append(f'"{" ".join(stems)}"')
        else:
            pieces.append(stems[0])
    if typed is not None:
        pieces.append(typed_prefix(typed.words[0]))
    positive = [p for p in pieces if not p.startswith("-")]
    q = " ".join(pieces) if positive else ("*" if filters else "")
    return q, filters, wanted


def _request_filters(request: SearchRequest, without: str = "") -> list[str]:
    filters = []
    for name in ("source", "category", "author"):
        value = getattr(request, name)
        if value and name != without:
            filters.append(f"{name}_key:={value_key(value)}")
    if without != "date":
        if request.date_from:
            filters.append(f"day:>={int(request.date_from.replace('-', ''))}")
        if request.date_to:
            filters.append(f"day:<={int(request.date_to.replace('-', ''))}")
    return filters


def _active(request: SearchRequest) -> list[str]:
    active = [name for name in ("source", "category", "author") if getattr(request, name)]
    return active + (["date"] if request.date_from or request.date_to else [])


def search_page(
    archive: TypesenseArchive,
    request: SearchRequest,
    *,
    records: dict[str, StoredArticle] | None = None,
    best_first: bool = False,
) -> SearchPage:
    """One page of results for `request`. For `every_match`: `records`, when given, is
    filled with the results' stored articles by id, and `best_first` puts each result's
    hits best first rather than in paragraph order."""
    parsed = parse(request)
    if not parsed.clauses:
        return _latest(archive, request, records)
    q, field_filters, wanted = _query_text(parsed)
    if not q:
        return SearchPage(request, 0, [], "That query has no words to search for.")
    words = len(parsed.words)
    loose = parsed.any_word or words > DESCRIPTION_WORDS
    base: dict[str, Any] = {
        "collection": archive.paragraphs_name,
        "q": q,
        "query_by": TEXT_FIELDS,
        "query_by_weights": TEXT_WEIGHTS,
        "prefix": "true,true" if parsed.typed else "false,false",
        "drop_tokens_threshold": 10**6 if loose else 0,
        "typo_tokens_threshold": 0 if request.description else 1,
        # Close spellings as the Whoosh backend allows them: one edit from five letters,
        # two from nine.
        "min_len_1typo": 5,
        "min_len_2typo": 9,
        "group_by": "story" if request.group else "article_key",
        "group_limit": HITS_PER_ARTICLE,
        "include_fields": "article_key,para,story",
        "highlight_fields": "stems",
        "highlight_affix_num_tokens": 0,
    }
    results = archive.search_many(_searches(base, request, field_filters))
    if not results[0].get("out_of"):
        return SearchPage(request, 0, [], "The archive is empty: add some articles first.")
    message = ""
    if not results[0]["found"] and words > 1 and not loose:
        base["drop_tokens_threshold"] = 10**6  # no article has all the words: some will do
        retried = archive.search_many(_searches(base, request, field_filters))
        if retried[0]["found"]:
            results = retried
            message = "No article has all of these words; below, articles with some of them."
    main = results[0]
    total = int(main["found"])
    clipped = within_pages(request, total)
    if clipped.page != request.page:
        request = clipped
        main = archive.search_many([_page_search(base, request, field_filters)])[0]
    if not total:
        message = "No article matches that search"
        message += " with these filters." if request.filtered else "."
    elif loose and not message:
        message = "A long query: showing articles with any of its words, the best matches first."
    counts = _facet_counts(main)
    for name, result in zip(_active(request), results[1:], strict=True):
        others = _facet_counts(result)
        for facet in _FILTERED_FACETS[name]:
            counts[facet] = others.get(facet, {})
    typed = typed_prefix(parsed.typed) if parsed.typed else ""
    results_shown = _results(
        archive, main.get("grouped_hits", []), wanted, request, typed, records, best_first
    )
    return SearchPage(
        request,
        total,
        results_shown,
        message,
        "",
        {facet: facet_counts(counts.get(facet, {}).items(), facet) for facet in _FACETS},
        histogram=date_bars(counts.get("month", {}), request),
        dated=True,
    )


_FACETS = ("source", "category", "author", "year")


def _searches(base: dict, request: SearchRequest, field_filters: list[str]) -> list[dict]:
    """The page's search, then one per active filter for the facets it filters."""
    searches = [_page_search(base, request, field_filters)]
    for name in _active(request):
        searches.append(_facet_search(base, request, field_filters, name))
    return searches


def _page_search(base: dict, request: SearchRequest, field_filters: list[str]) -> dict:
    search = dict(base)
    filters = _request_filters(request) + field_filters
    if filters:
        search["filter_by"] = " && ".join(filters)
    search.update(
        facet_by="source,category,author,year,month",
        max_facet_values=MAX_MONTHS,
        per_page=request.per_page,
        page=request.page,
        sort_by="day:desc,_text_match:desc" if request.sort == "date" else "_text_match:desc",
    )
    return search


def _facet_search(base: dict, request: SearchRequest, field_filters: list[str], name: str):
    search = dict(base)
    filters = _request_filters(request, without=name) + field_filters
    if filters:
        search["filter_by"] = " && ".join(filters)
    search.update(
        facet_by=",".join(_FILTERED_FACETS[name]),
        max_facet_values=MAX_MONTHS,
        per_page=1,
        page=1,
        include_fields="article_key",
    )
    return search


def _facet_counts(result: dict) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for facet in result.get("facet_counts", []):
        name = facet["field_name"]
        label = facet_label if name in _KEYED else str
        counts[name] = {label(c["value"]): int(c["count"]) for c in facet["counts"]}
    return counts


_KEYED = {"source", "category", "author"}


def _results(
    archive: TypesenseArchive,
    groups: list[dict],
    wanted: list[str],
    request: SearchRequest,
    typed: str = "",
    records_out: dict[str, StoredArticle] | None = None,
    best_first: bool = False,
) -> list[ArticleResult]:
    """The page's results: records read in one request, hits marked with the query's terms
    and the tokens Typesense matched (close spellings), and the completions of the word
    being typed found in each hit."""
    chosen = []  # (article key, score, [(para, matched tokens)])
    for group in groups:
        hits = group.get("hits", [])
        if not hits:
            continue
        key = hits[0]["document"]["article_key"]
        mine = [hit for hit in hits if hit["document"]["article_key"] == key]
        paragraphs = [(hit["document"]["para"], _matched(hit)) for hit in mine]
        chosen.append((key, float(hits[0].get("text_match", 0)), paragraphs))
    records = _records_by_key(archive, [key for key, _, _ in chosen])
    results = []
    for key, score, paragraphs in chosen:
        stored = records.get(key)
        if stored is None:  # written while we searched: its record is not there yet
            continue
        matched = {token for _, tokens in paragraphs for token in tokens}
        shown_terms = frozenset(wanted) | matched | frozenset(_stems(matched))
        language = stored.article.language
        hits = []
        for para, _ in paragraphs if best_first else sorted(paragraphs):
            if para >= len(stored.article.paragraphs):
                continue
            text = stored.article.paragraphs[para]
            completed = {t for t in terms(text, language) if typed and t.startswith(typed)}
            hits.append(Hit(para, mark(text, shown_terms | completed, language)))
        results.append(article_result(stored, score, hits, shown_terms))
        if records_out is not None:
            records_out[stored.id] = stored
    if request.group and results:
        versions = versions_of(archive, [r.id for r in results], records_of=records)
        for result in results:
            result.versions = versions.get(result.id, [])
    return results


def _matched(hit: dict) -> list[str]:
    return [
        token
        for highlight in hit.get("highlights", [])
        for token in highlight.get("matched_tokens", [])
        if isinstance(token, str)
    ]


def _records_by_key(archive: TypesenseArchive, keys: list[str]) -> dict[str, StoredArticle]:
    found = {}
    if keys:
        for document in archive._export(archive.articles_name, filter_by=f"id:[{','.join(keys)}]"):
            found[document["id"]] = StoredArticle.from_json(document["record"])
    return found


def _latest(
    archive: TypesenseArchive,
    request: SearchRequest,
    records_out: dict[str, StoredArticle] | None = None,
) -> SearchPage:
    """The newest articles passing the filters, for an empty query."""
    base: dict[str, Any] = {
        "collection": archive.articles_name,
        "q": "*",
        "query_by": "article_id",
        "include_fields": "id,record,story",
    }
    if request.group:
        base.update(group_by="story", group_limit=1)
    page = dict(base)
    filters = _request_filters(request)
    if filters:
        page["filter_by"] = " && ".join(filters)
    page.update(
        facet_by="source,category,author,year,month",
        max_facet_values=MAX_MONTHS,
        per_page=request.per_page,
        page=request.page,
        sort_by="day:desc,article_id:desc",
    )
    searches = [page]
    for name in _active(request):
        searches.append(_facet_search(base, request, [], name))
    results = archive.search_many(searches)
    main = results[0]
    total = int(main["found"])
    clipped = within_pages(request, total)
    if clipped.page != request.page:
        request = clipped
        page["page"] = request.page
        main = archive.search_many([page])[0]
    counts = _facet_counts(main)
    for name, result in zip(_active(request), results[1:], strict=True):
        others = _facet_counts(result)
        for facet in _FILTERED_FACETS[name]:
            counts[facet] = others.get(facet, {})
    if request.group:
        documents = [g["hits"][0]["document"] for g in main.get("grouped_hits", []) if g["hits"]]
    else:
        documents = [hit["document"] for hit in main.get("hits", [])]
    stored = {d["id"]: StoredArticle.from_json(d["record"]) for d in documents}
    if records_out is not None:
        records_out.update({record.id: record for record in stored.values()})
    results_shown = [article_result(s, 0.0, [], frozenset()) for s in stored.values()]
    if request.group and results_shown:
        versions = versions_of(archive, [r.id for r in results_shown], records_of=stored)
        for result in results_shown:
            result.versions = versions.get(result.id, [])
    return SearchPage(
        request,
        total,
        results_shown,
        "" if main.get("out_of") else "The archive is empty: add some articles first.",
        "",
        {facet: facet_counts(counts.get(facet, {}).items(), facet) for facet in _FACETS},
        histogram=date_bars(counts.get("month", {}), request),
        dated=bool(counts.get("month")),
    )


def versions_of(
    archive: TypesenseArchive,
    ids: list[str],
    records_of: dict[str, StoredArticle] | None = None,
) -> dict[str, list[Version]]:
    """The other articles of each article's story, newest first, by article id."""
    stored = {s.id: s for s in (records_of or {}).values()}
    missing = [article_id for article_id in ids if article_id not in stored]
    stored.update(archive.records(missing))
    story_of = {i: article_key(stored[i].story or i) for i in ids if i in stored}
    if not story_of:
        return {}
    stories = ",".join(sorted(set(story_of.values())))
    members: dict[str, list[tuple[int, str, StoredArticle]]] = {}
    for document in archive._export(
        archive.articles_name, filter_by=f"story:[{stories}]", include_fields="story,day,record"
    ):
        record = StoredArticle.from_json(document["record"])
        members.setdefault(document["story"], []).append((document["day"], record.id, record))
    found = {}
    for article_id, story in story_of.items():
        others = sorted(members.get(story, []), key=lambda m: (-m[0], m[1]))
        found[article_id] = [
            Version(a.id, a.headline, a.source, a.date, safe_url(a.url))
            for _, other_id, record in others
            if other_id != article_id
            for a in (record.article,)
        ]
    return found


def highlight_article(
    archive: TypesenseArchive,
    stored: StoredArticle,
    query_text: str,
    paragraphs: range | None = None,
) -> tuple[list[Marked], list[Marked]]:
    """The article's paragraphs and digest sentences with every word of the query marked."""
    parsed = parse(query_text)
    wanted = frozenset(t for clause in parsed.required for t in terms(" ".join(clause.words)))
    language = stored.article.language
    every = stored.article.paragraphs
    shown = every if paragraphs is None else [every[n] for n in paragraphs if n < len(every)]
    marked = [mark(p, wanted, language, crop=False) for p in shown]
    digest = [mark(s.text, wanted, language, crop=False) for s in stored.digest.sentences]
    return marked, digest


EXPORT_PAGE = 250  # results per search while exporting: the most Typesense gives at once


def every_match(
    archive: TypesenseArchive, request: SearchRequest
) -> Iterator[tuple[ArticleResult, StoredArticle]]:
    """Every match of `request` in its order, with its stored article: the search's own
    pages of EXPORT_PAGE results (grouped as the search groups), read one after the other
    (see `Archive.every_match`).

    Typesense has no snapshots: an article written while the export runs may move between
    pages; one seen already is not given twice.
    """
    seen: set[str] = set()
    number = 1
    while True:
        records: dict[str, StoredArticle] = {}
        paged = replace(request, page=number, per_page=EXPORT_PAGE)
        page = search_page(archive, paged, records=records, best_first=True)
        if page.page != number:  # past the end (the archive shrank meanwhile)
            return
        for result in page.results:
            stored = records.get(result.id)
            if stored is not None and result.id not in seen:
                seen.add(result.id)
                yield result, stored
        if number >= page.pages or not page.results:
            return
        number += 1
