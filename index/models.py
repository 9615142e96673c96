"""Plain data that crosses the seam between Precis's engine and its callers.

The web app and the CLI only ever see these dataclasses: an `Article` as parsed
from a file or a record, a `StoredArticle` as kept in the archive (with its
digest and sentence boundaries), and the `SearchPage` a query returns. No
search-engine object leaves the `index` package, so a second engine can plug in
behind the same functions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


@dataclass
class Article:
    """One news article as read from a source, before it is digested and stored."""

    id: str
    title: str
    paragraphs: list[str]
    standfirst: str = ""
    captions: list[str] = field(default_factory=list)
    date: str = ""  # ISO 8601 day (YYYY-MM-DD) or ""
    source: str = ""  # the publication, e.g. "BBC News"
    url: str = ""
    category: str = ""
    author: str = ""
    # Where and from whom the story was filed, as written: "LONDON, Oct 3 (Reuters)".
    dateline: str = ""
    language: str = "english"
    reading_time: str = ""
    origin: str = ""  # the file it came from ("" when added from the browser or the API)

    @property
    def headline(self) -> str:
        """The title, or for an untitled article the start of its first paragraph.

        Only a real title is indexed as one; the headline is what pages show.
        """
        if self.title or not self.paragraphs:
            return self.title
        first = self.paragraphs[0]
        return first if len(first) <= 80 else first[:80].rsplit(" ", 1)[0] + " …"

    def content_hash(self, salt: str = "") -> str:
        """Return a hash of everything a reader sees, plus `salt` (the digest settings)."""
        content = asdict(self)
        content.pop("origin")
        blob = json.dumps(content, sort_keys=True, ensure_ascii=False) + "\n" + salt
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


@dataclass
class DigestSentence:
    """A sentence of a digest and the number of the paragraph it came from (0-based)."""

    text: str
    paragraph: int


@dataclass
class Digest:
    """An extractive digest: whole sentences in document order, joined into one paragraph."""

    sentences: list[DigestSentence]
    algorithm: str

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def __bool__(self) -> bool:
        return bool(self.sentences)


@dataclass
class PoolSentence:
    """A digest candidate kept for query-focused digests: where it is, and its index terms."""

    paragraph: int
    start: int  # [start, end) in the paragraph's text: the record holds the text once
    end: int
    position: int  # the sentence's place among the article's body sentences
    terms: list[str] = field(default_factory=list)  # stemmed as the index stems them

    def text_in(self, paragraphs: list[str]) -> str:
        return paragraphs[self.paragraph][self.start : self.end]


@dataclass
class StoredArticle:
    """An article as the archive keeps it: the parsed article plus what ingest computed."""

    article: Article
    content_hash: str
    digest: Digest
    # Sentence boundaries per paragraph, as [start, end) character offsets, so that
    # query-time code never has to re-tokenise the text.
    sentence_spans: list[list[tuple[int, int]]]
    ingested_at: str  # ISO 8601 timestamp, UTC
    # The best digest candidates in rank order, so that a query-focused digest is a
    # matter of set intersections at query time.
    digest_pool: list[PoolSentence] = field(default_factory=list)
    # The story the article tells: the id of the first article found telling it (its own
    # id when none was). Versions of a story (copies, updates, the same wire copy under
    # other sources) share it; ingest decides it (see `versions`).
    story: str = ""
    # One sentence that stands for the whole article (the compact view, feeds): chosen
    # for centrality and the headline rather than position (`digest.summarize_one`).
    short_digest: DigestSentence | None = None

    @property
    def id(self) -> str:
        return self.article.id

    def public_record(self) -> dict:
        """Return the article in Precis's documented public shape.

        It is also an ingest record: every field an article has (never the server path
        it came from), so ingesting it again gives the same article. `url` holds only an
        http(s) address; `digest`, `short_digest`, `story` and `ingested_at` are
        informative and ignored on ingest.
        """
        from .articles import safe_url

        article = self.article
        return {
            "id": article.id,
            "title": article.title,
            "standfirst": article.standfirst,
            "date": article.date,
            "source": article.source,
            "category": article.category,
            "author": article.author,
            "dateline": article.dateline,
            "url": safe_url(article.url),
            "language": article.language,
            "reading_time": article.reading_time,
            "captions": list(article.captions),
            "paragraphs": list(article.paragraphs),
            "digest": [asdict(sentence) for sentence in self.digest.sentences],
            "short_digest": asdict(self.short_digest) if self.short_digest else None,
            "story": self.story or article.id,
            "ingested_at": self.ingested_at,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, blob: str) -> StoredArticle:
        data = json.loads(blob)
        digest = data["digest"]
        return cls(
            article=Article(**data["article"]),
            content_hash=data["content_hash"],
            digest=Digest(
                sentences=[DigestSentence(**s) for s in digest["sentences"]],
                algorithm=digest["algorithm"],
            ),
            sentence_spans=[[tuple(span) for span in para] for para in data["sentence_spans"]],
            ingested_at=data["ingested_at"],
            digest_pool=[PoolSentence(**s) for s in data.get("digest_pool", [])],
            story=data.get("story", ""),
            short_digest=DigestSentence(**data["short_digest"])
            if data.get("short_digest")
            else None,
        )


@dataclass
class KnownArticle:
    """What ingest needs to know about an article already in the archive."""

    content_hash: str
    origin: str


@dataclass
class Marked:
    """Text with the places of the query's words in it: (start, end) character spans.

    What a backend returns instead of HTML; pages and the command line render it (see
    `index.marking`), so nothing a backend returns is ever trusted as markup.
    """

    text: str
    marks: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Hit:
    """A paragraph of an article that matched, the query's words in it marked (cropped
    around them when the paragraph is long)."""

    paragraph: int
    marked: Marked

    def to_json(self) -> dict:
        """`paragraph` (0-based), `text`, `marks` ([start, end] pairs) and `html` (the text
        escaped, the marks in `<mark>`)."""
        from .marking import to_html

        return {
            "paragraph": self.paragraph,
            "text": self.marked.text,
            "marks": [list(span) for span in self.marked.marks],
            "html": str(to_html(self.marked)),
        }


@dataclass
class Version:
    """Another article telling the same story: a copy, an update, the same wire copy
    under another source."""

    id: str
    title: str
    source: str
    date: str
    url: str


@dataclass
class ArticleResult:
    """One search result: an article, its best-matching paragraphs and its digest."""

    id: str
    title: str
    date: str
    source: str
    category: str
    url: str
    score: float
    digest: list[DigestSentence]
    hits: list[Hit]
    # The one-sentence digest, for the compact view ("" when the article has none).
    short_digest: str = ""
    # Each digest sentence with the query's words marked (for pages, not JSON).
    digest_marked: list[Marked] = field(default_factory=list)
    # Query words this article lacks: set only for the articles that fill a last page
    # below those with every word (and not counted in the total).
    missing: list[str] = field(default_factory=list)
    # The story's other articles, shown as "N other versions" (grouping on).
    versions: list[Version] = field(default_factory=list)

    def to_json(self) -> dict:
        """Return the result in the shape of the JSON API and `precis search --json`."""
        data = asdict(self)
        del data["digest_marked"]
        data["hits"] = [hit.to_json() for hit in self.hits]
        return data


SORTS = ("relevance", "date")


@dataclass(frozen=True)
class SearchRequest:
    """What a reader asked for: a query, filters, an order and a page."""

    query: str = ""
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"  # or "date" (newest first)
    date_from: str = ""  # ISO day, inclusive
    date_to: str = ""  # ISO day, inclusive
    source: str = ""
    category: str = ""
    author: str = ""
    # One result per story, its other versions listed under it (the `group_versions` setting).
    group: bool = True
    # The reader is still typing the last word (the live page's keystrokes): it is matched
    # as a prefix, and gets no typo tolerance until it is finished.
    typing: bool = False
    # The query is a set of key words taken from the archive itself (related articles),
    # not something a reader wrote: no close spellings, no bonus for words side by side.
    description: bool = False
    # False: the results need no hits and no query-focused digest (a briefing reads only
    # which articles match, best first); a backend may return them all the same.
    hits: bool = True

    @property
    def filtered(self) -> bool:
        return bool(self.date_from or self.date_to or self.source or self.category or self.author)


@dataclass
class FacetCount:
    """How many matching articles have one value of a facet (source, category, author,
    year)."""

    value: str
    count: int


@dataclass
class DateBar:
    """One bar of the date histogram: matching articles in a year or a month."""

    label: str  # "2004" or "2004-03"
    date_from: str  # the first day it covers, YYYY-MM-DD
    date_to: str  # the last day it covers
    count: int


@dataclass
class SearchPage:
    """A page of search results, one per article, with facet counts for the whole match."""

    request: SearchRequest
    total: int
    results: list[ArticleResult]
    message: str = ""  # a note for the reader, e.g. why nothing matched
    suggestion: str = ""  # a corrected query ("did you mean ...")
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # query words left out to find articles
    # Matching articles over time (filters other than the dates applied), and whether the
    # archive has dates at all (an undated one offers no date sort or histogram).
    histogram: list[DateBar] = field(default_factory=list)
    dated: bool = True

    @property
    def query(self) -> str:
        return self.request.query

    @property
    def page(self) -> int:
        return self.request.page

    @property
    def per_page(self) -> int:
        return self.request.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_json(self) -> dict:
        """Return the page in the shape of the JSON API."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "sort": self.request.sort,
            "message": self.message,
            "suggestion": self.suggestion,
            "dropped": self.dropped,
            "facets": {
                name: [asdict(count) for count in counts] for name, counts in self.facets.items()
            },
            "results": [result.to_json() for result in self.results],
        }


@dataclass
class ArchiveStats:
    """Counts and sizes of an archive, for `precis stats`."""

    path: str
    articles: int
    paragraphs: int
    size_bytes: int
    last_ingest: str  # ISO 8601 timestamp of the newest stored article, or ""


@dataclass
class BriefSource:
    """An article a briefing draws on, as its list of sources names it."""

    id: str
    title: str
    date: str
    source: str
    url: str  # an http(s) address or ""


@dataclass
class BriefSentence:
    """A sentence of a briefing, the query's words marked, and where it comes from: the
    article (`source`, an index into `Briefing.sources`) and its paragraph (0-based)."""

    marked: Marked
    article_id: str
    paragraph: int
    source: int

    @property
    def text(self) -> str:
        return self.marked.text

    def to_json(self) -> dict:
        from .marking import to_html

        return {
            "text": self.marked.text,
            "marks": [list(span) for span in self.marked.marks],
            "html": str(to_html(self.marked)),
            "article": self.article_id,
            "paragraph": self.paragraph,
            "source": self.source,
        }


@dataclass
class Briefing:
    """One paragraph across the best-matching articles of a search: what happened,
    sentence by sentence, each sentence traced to its article and paragraph."""

    request: SearchRequest
    total: int  # the articles (or stories) the search matches
    read: int  # how many of the best matches the sentences were chosen from
    sentences: list[BriefSentence]
    sources: list[BriefSource]
    message: str = ""

    @property
    def query(self) -> str:
        return self.request.query

    def to_json(self) -> dict:
        """The briefing in the shape of `GET /api/briefing` and `precis brief --json`."""
        return {
            "query": self.query,
            "total": self.total,
            "read": self.read,
            "message": self.message,
            "text": " ".join(sentence.text for sentence in self.sentences),
            "sentences": [sentence.to_json() for sentence in self.sentences],
            "sources": [asdict(source) for source in self.sources],
        }
