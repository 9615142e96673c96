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
    language: str = "english"
    reading_time: str = ""
    origin: str = ""  # the file it came from ("" when added from the browser or the API)

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
class StoredArticle:
    """An article as the archive keeps it: the parsed article plus what ingest computed."""

    article: Article
    content_hash: str
    digest: Digest
    # Sentence boundaries per paragraph, as [start, end) character offsets, so that
    # query-time code never has to re-tokenise the text.
    sentence_spans: list[list[tuple[int, int]]]
    ingested_at: str  # ISO 8601 timestamp, UTC

    @property
    def id(self) -> str:
        return self.article.id

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
        )


@dataclass
class KnownArticle:
    """What ingest needs to know about an article already in the archive."""

    content_hash: str
    origin: str


@dataclass
class Hit:
    """A paragraph of an article that matched, with the query terms wrapped in <mark>."""

    paragraph: int
    html: str


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


@dataclass
class SearchPage:
    """A page of search results, one per article."""

    query: str
    total: int
    page: int
    per_page: int
    results: list[ArticleResult]
    message: str = ""  # a note for the reader, e.g. why nothing matched

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ArchiveStats:
    """Counts and sizes of an archive, for `precis stats`."""

    path: str
    articles: int
    paragraphs: int
    size_bytes: int
    last_ingest: str  # ISO 8601 timestamp of the newest stored article, or ""
