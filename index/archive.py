"""The archive seam: what the pages, the API and the CLI ask of an archive, whatever engine
keeps it, and the one function that opens the configured one.

Two backends implement `Archive`:

- `index.whoosh_backend.WhooshArchive`, the embedded default: a Whoosh index folder on
  this machine (`PRECIS_INDEX`);
- `index.typesense_backend.TypesenseArchive`: collections in a Typesense cluster
  (`PRECIS_BACKEND=typesense`, `PRECIS_TYPESENSE_NODES`, `PRECIS_TYPESENSE_API_KEY`), for
  an archive that outgrows one machine or must stay up when one goes down.

Everything that crosses the seam is a plain dataclass of `index.models`: requests, pages,
stored articles, highlighted text as `Marked` (text plus spans, never HTML). What every
backend shares sits beside this module: the term pipeline (`index.terms`), the query
language (`index.query`), highlighting and cropping (`index.marking`), query-focused digests
(`index.digest.focus`), paging (`index.paging`) and story placement (`index.versions`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from .models import (
    ArchiveStats,
    ArticleResult,
    KnownArticle,
    Marked,
    SearchPage,
    SearchRequest,
    StoredArticle,
    Version,
)
from .versions import BandTable

BACKENDS = ("whoosh", "typesense")
DEFAULT_WRITE_TIMEOUT = 60.0


class ArchiveError(RuntimeError):
    """A problem with the archive itself, with a message for the person running Precis."""


class ArchiveMissing(ArchiveError):
    """There is no archive at the given place yet."""


class ArchiveBusy(ArchiveError):
    """Another process is writing to the archive and did not finish in time."""


class ArchiveWriteError(ArchiveError):
    """The archive refused a write (disk full, read-only, a cluster without a leader);
    nothing was changed."""

    def __init__(self, message: str, cause: OSError | None = None) -> None:
        super().__init__(message)
        self.errno = cause.errno if cause is not None else None


@runtime_checkable
class Archive(Protocol):
    """An archive of articles: paragraphs searched, one record per article kept.

    Reads may run in many threads at once. Writes are serialised by `writing`, which
    every writer holds around `write` (and the reads that decide what to write).
    """

    #: Where the archive lives, for messages: a folder, or a cluster's nodes.
    location: str

    # --- reading ---------------------------------------------------------------------------

    def reading(self) -> AbstractContextManager[object]:
        """Pin one consistent view of the archive for everything read inside the block (a
        request's search, records and versions come from one generation)."""
        ...

    def search(self, request: SearchRequest) -> SearchPage:
        """One page of results for `request`, one per article (or story)."""
        ...

    def every_match(self, request: SearchRequest) -> Iterator[tuple[ArticleResult, StoredArticle]]:
        """Every article (or story, with `request.group`) that `search` counts in its
        total, in the request's order (relevance, or newest first), each result with its
        hits best first and its stored article; for an empty query, every article passing
        the filters, newest first. `page` and `per_page` are ignored (but for the ranking's
        proximity bonus, reckoned as for the first page).

        Lazy: records are read in batches as the caller iterates, from one view of the
        archive held until the iterator is exhausted or closed (close it if you stop early).
        For exports (`index.export`).
        """
        ...

    def get(self, article_id: str, *, fresh: bool = False) -> StoredArticle | None:
        """The stored article with this id, or None; `fresh` reads the newest write."""
        ...

    def versions(self, article_id: str) -> list[Version]:
        """The other articles of this article's story, newest first."""
        ...

    def highlight(
        self, stored: StoredArticle, query: str, paragraphs: range | None = None
    ) -> tuple[list[Marked], list[Marked]]:
        """The article's paragraphs (those in `paragraphs`, or all) and digest sentences
        with the query's words marked."""
        ...

    def stats(self) -> ArchiveStats:
        """Article and paragraph counts, size and the last ingest."""
        ...

    def known(self) -> dict[str, KnownArticle]:
        """The content hash and origin of every stored article, by id (newest write)."""
        ...

    def articles(self) -> Iterator[StoredArticle]:
        """Every stored article, in id order (export, migration)."""
        ...

    def records(self, ids: Sequence[str], *, fresh: bool = True) -> dict[str, StoredArticle]:
        """The stored articles with these ids that exist, by id: the newest write, or with
        `fresh=False` those of the view `reading` pins (what a page just searched)."""
        ...

    def band_table(self) -> BandTable:
        """The story band keys of every stored article (newest write; see `versions`)."""
        ...

    def frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """How many paragraphs the archive holds, and in how many of them each of `terms`
        (stemmed as `index.terms` stems) occurs: the rarity that related articles weigh."""
        ...

    def read_meta(self) -> dict:
        """The archive's small metadata (last ingest and its summary)."""
        ...

    # --- writing ---------------------------------------------------------------------------

    def writing(self, timeout: float = DEFAULT_WRITE_TIMEOUT) -> AbstractContextManager[None]:
        """Hold the archive's writer lock, waiting at most `timeout` seconds."""
        ...

    def write(
        self,
        articles: Sequence[StoredArticle],
        delete: Sequence[str] = (),
        bands: Mapping[str, bytes] | None = None,
    ) -> None:
        """Store `articles` (replacing those with the same ids) and delete `delete`;
        `bands` gives each article's packed band keys, by id. The caller holds `writing`."""
        ...

    def write_meta(self, **values: object) -> None:
        """Update the metadata."""
        ...

    # --- serving ---------------------------------------------------------------------------

    def warm_in_background(self) -> None:
        """Read ahead what the first searches need, without blocking (may do nothing)."""
        ...

    def close(self) -> None:
        """Release what this thread holds."""
        ...


def open_archive(settings: Mapping[str, Any], *, create: bool = False) -> Archive:
    """Open the archive the settings name (`backend`, then `index` for Whoosh or
    `typesense_nodes` and `typesense_api_key` for Typesense); `create` makes an empty one
    if there is none yet. Used by the app factory and the CLI alike."""
    backend = str(settings.get("backend") or "whoosh").strip().lower()
    if backend == "whoosh":
        from .whoosh_backend import WhooshArchive

        return WhooshArchive(settings["index"], create=create)
    if backend == "typesense":
        from .typesense_backend import TypesenseArchive

        return TypesenseArchive.from_settings(settings, create=create)
    raise ArchiveError(
        f"unknown backend {backend!r}: PRECIS_BACKEND is one of {', '.join(BACKENDS)}"
    )


def now() -> str:
    """The current UTC time as an ISO 8601 string."""
    return datetime.now(UTC).isoformat(timespec="seconds")
