"""The archive on disk: a Whoosh index of paragraphs plus one record per article.

One Whoosh index holds two kinds of documents:

- a paragraph document per body paragraph (`kind=para`): article id, paragraph
  number, the paragraph text (stemmed, stored for highlighting) and the
  article's title, date, source and category, so a hit needs no second lookup;
- an article record per article (`kind=article`): the whole `StoredArticle`
  (all paragraphs, captions, digest with provenance, sentence boundaries) as
  JSON, stored once, plus its content hash and origin as columns for ingest.

Both kinds live in one index so that a commit, which Whoosh makes atomic by
writing its table of contents last and renaming it into place, replaces an
article's record and its paragraphs together: a crash leaves every article
either wholly old or wholly new. Writers are serialised by a lock file in the
index folder (`writer.lock`); a second writer waits a bounded time and then
gets `ArchiveBusy`, never a raw Whoosh `LockError`.

`WhooshArchive` is the seam's Whoosh implementation: its methods take and
return the plain dataclasses of `index.models`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import filelock
import numpy as np
from whoosh.index import LockError, clean_files, create_in, exists_in, open_dir
from whoosh.query import Term

from ..archive import (
    DEFAULT_WRITE_TIMEOUT,
    ArchiveBusy,
    ArchiveError,
    ArchiveMissing,
    ArchiveWriteError,
)
from ..models import (
    ArchiveStats,
    ArticleResult,
    KnownArticle,
    Marked,
    SearchPage,
    SearchRequest,
    StoredArticle,
    Version,
)
from ..versions import BandTable
from .schema import SCHEMA_VERSION, WEIGHTING, make_schema, text_field
from .search import every_match as every_match_in
from .search import highlight_article, search_page, versions_of
from .tables import SEGMENT_POSTINGS, Tables, tables_for, vocabulary
from .workarounds import WRITER_OPTIONS, fresh_searcher

# Warming reads the postings lists of terms in at least this many documents of a segment:
# rarer terms cost little to read when a search needs them.
WARM_LEAST = 16
META_FILE = "precis.json"
LOCK_FILE = "writer.lock"
def _reason(error: OSError) -> str:
    """The short cause of a disk error, e.g. "No space left on device"."""
    return error.strerror or str(error)


@contextmanager
def _disk_errors(doing: str) -> Iterator[None]:
    """Turn disk errors into an ArchiveWriteError that starts with `doing`."""
    try:
        yield
    except OSError as error:
        raise ArchiveWriteError(f"{doing}: {_reason(error)}", error) from error


class WhooshArchive:
    """An archive of articles kept in a Whoosh index folder."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._local = threading.local()
        self._warming_lock = threading.Lock()
        self._warmed: int | None = None
        if not exists_in(self.path):
            if not create:
                raise ArchiveMissing(
                    f"no archive at {self.path} yet; add articles with `precis ingest PATH`"
                )
            with _disk_errors(f"can't create an archive at {self.path}"):
                self.path.mkdir(parents=True, exist_ok=True)
                with self.writing():
                    if not exists_in(self.path):
                        # The version goes down first: a kill between the two leaves a folder
                        # with metadata and no index, which the next run simply creates again.
                        self.write_meta(schema_version=SCHEMA_VERSION)
                        create_in(self.path, make_schema())
        version = self.read_meta().get("schema_version")
        if version != SCHEMA_VERSION:
            raise ArchiveError(
                f"the archive at {self.path} was made by another version of Precis "
                f"(schema {version}, this one reads {SCHEMA_VERSION}); move it aside and "
                "ingest the articles again"
            )
        with _disk_errors(f"can't open the archive at {self.path}"):
            self._index = open_dir(self.path, readonly=True)

    # --- reading ---------------------------------------------------------------------------

    @contextmanager
    def reading(self, *, fresh: bool = False) -> Iterator[Snapshot]:
        """Pin one index generation for everything read inside the block.

        The outermost block of a thread takes a fresh snapshot if the index changed since
        the thread's last one (and closes that one: no request of this thread still uses
        it); nested blocks reuse the pinned snapshot, so a request that searches, reads
        columns and loads records sees one generation from start to finish. `fresh=True`
        (for writers, under the writer lock) reads the newest generation whatever is pinned.
        """
        local = self._local
        depth = getattr(local, "depth", 0)
        snapshot: Snapshot | None = getattr(local, "snapshot", None)
        if fresh and depth > 0:
            newest = Snapshot(self._index, self.path)
            local.snapshot, local.depth = newest, 1
            try:
                yield newest
            finally:
                local.snapshot, local.depth = snapshot, depth
                newest.close()
            return
        if depth == 0 and (snapshot is None or not snapshot.current()):
            if snapshot is not None:
                snapshot.close()
                local.snapshot = None
            snapshot = local.snapshot = Snapshot(self._index, self.path)
        assert snapshot is not None
        local.depth = depth + 1
        try:
            yield snapshot
        finally:
            local.depth = depth

    def articles(self) -> Iterator[StoredArticle]:
        """Yield every stored article of one snapshot, in id order (one in memory at a time)."""
        with self.reading() as snapshot:
            searcher = snapshot.searcher
            if not searcher.doc_count_all():
                return
            tables = snapshot.tables
            live = np.flatnonzero(tables.article_live)
            for article in live[np.argsort(tables.id_rank[live], kind="stable")].tolist():
                record = int(tables.article_record[article])
                yield StoredArticle.from_json(searcher.stored_fields(record)["record"])

    def records(self, ids: Sequence[str], *, fresh: bool = True) -> dict[str, StoredArticle]:
        """The stored articles with these ids, by id: from the newest generation, or with
        `fresh=False` from the pinned one through the tables' record cache (callers must
        not change those)."""
        found = {}
        if not fresh:
            with self.reading() as snapshot:
                searcher, tables = snapshot.searcher, snapshot.tables
                if not searcher.doc_count_all():
                    return {}
                for article_id in ids:
                    ordinal = tables.ordinal(article_id)
                    record = -1 if ordinal is None else int(tables.article_record[ordinal])
                    if record >= 0:
                        found[article_id] = tables.record(searcher, record)
            return found
        with self.reading(fresh=True) as snapshot:
            searcher = snapshot.searcher
            for article_id in ids:
                doc = searcher.document_number(kind="article", article=article_id)
                if doc is not None:
                    found[article_id] = StoredArticle.from_json(
                        searcher.stored_fields(doc)["record"]
                    )
        return found

    def frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """The paragraph count and each term's paragraph frequency (the pinned view; cached
        per generation by the tables)."""
        with self.reading() as snapshot:
            searcher, tables = snapshot.searcher, snapshot.tables
            if not searcher.doc_count_all():
                return 0, {}
            paragraphs = searcher.doc_count() - int(np.count_nonzero(tables.article_live))
            return paragraphs, {
                word: tables.doc_frequency(searcher, "text", word) for word in terms
            }

    def band_table(self) -> BandTable:
        """The band keys of every stored article, newest generation (see `versions`)."""
        with self.reading(fresh=True) as snapshot:
            searcher = snapshot.searcher
            if searcher.doc_count_all() == 0:
                return BandTable.from_packed([])
            reader = searcher.reader()
            ids = reader.column_reader("article")
            bands = reader.column_reader("bands")
            return BandTable.from_packed(
                (ids[doc], bands[doc]) for doc in Term("kind", "article").docs(searcher)
            )

    def known(self) -> dict[str, KnownArticle]:
        """Return the content hash and origin of every stored article, by id (the newest
        generation: writers decide from this what to add, update and delete)."""
        with self.reading(fresh=True) as snapshot:
            searcher = snapshot.searcher
            if searcher.doc_count_all() == 0:
                return {}
            reader = searcher.reader()
            ids = reader.column_reader("article")
            hashes = reader.column_reader("hash")
            origins = reader.column_reader("origin")
            return {
                ids[n]: KnownArticle(hashes[n], origins[n])
                for n in Term("kind", "article").docs(searcher)
            }

    def ids(self) -> list[str]:
        """Return the id of every stored article, sorted."""
        return sorted(self.known())

    def get(self, article_id: str, *, fresh: bool = False) -> StoredArticle | None:
        """Return the stored article with this id, or None (`fresh`: see `reading`)."""
        with self.reading(fresh=fresh) as snapshot:
            searcher = snapshot.searcher
            number = searcher.document_number(kind="article", article=article_id)
            if number is None:
                return None
            return StoredArticle.from_json(searcher.stored_fields(number)["record"])

    def versions(self, article_id: str) -> list[Version]:
        """The other articles of this article's story (copies, updates), newest first."""
        with self.reading() as snapshot:
            return versions_of(snapshot.searcher, snapshot.tables, article_id)

    def search(self, request: SearchRequest | str = "", **options: object) -> SearchPage:
        """Return one page of results, one per article.

        Takes a SearchRequest, or a query string plus SearchRequest fields as keywords.
        """
        if isinstance(request, str):
            request = SearchRequest(query=request, **options)  # type: ignore[arg-type]
        with self.reading() as snapshot:
            return search_page(snapshot, request)

    def every_match(
        self, request: SearchRequest
    ) -> Iterator[tuple[ArticleResult, StoredArticle]]:
        """Every match of `request` in its order, with its stored article, from one
        snapshot held until the iterator ends or is closed (see `Archive.every_match`)."""
        with self.reading() as snapshot:
            yield from every_match_in(snapshot, request)

    def highlight(
        self, stored: StoredArticle, query: str, paragraphs: range | None = None
    ) -> tuple[list[Marked], list[Marked]]:
        """Return the article's paragraphs (those in `paragraphs`, or all) and digest
        sentences, the query's words marked."""
        with self.reading() as snapshot:
            return highlight_article(snapshot, stored, query, paragraphs)

    def warm(self, least: int = WARM_LEAST) -> int:
        """Read into memory what the first searches of this generation would read: its
        tables, the words that complete a typed prefix, and the longest postings lists (the
        text and title terms of at least `least` paragraphs of a segment, longest first, within
        `tables.POSTINGS_BUDGET`). Return how many postings lists were read."""
        with self.reading() as snapshot:
            reader = snapshot.searcher.reader()
            snapshot.tables  # noqa: B018 (built on first use)
            for leaf, _ in reader.leaf_readers():
                vocabulary(leaf)
            return SEGMENT_POSTINGS.warm(reader, ("text", "title"), least)

    def warm_in_background(self) -> None:
        """Warm the newest generation in a daemon thread, once per generation (servers call
        this on every request; it returns at once)."""
        try:
            generation = self._index.latest_generation()
        except OSError:
            return
        with self._warming_lock:
            if generation == self._warmed:
                return
            self._warmed = generation
        threading.Thread(target=self._warm_quietly, name="precis-warm", daemon=True).start()

    def _warm_quietly(self) -> None:
        try:
            self.warm()
        except Exception:  # a concurrent rewrite, a vanished folder: searches read on demand
            logging.getLogger(__name__).debug("warming %s failed", self.path, exc_info=True)
        finally:
            self.close()  # this thread's snapshot

    def stats(self) -> ArchiveStats:
        """Return article and paragraph counts, the size on disk and the last ingest time."""
        with self.reading() as snapshot:
            searcher = snapshot.searcher
            articles = sum(1 for _ in Term("kind", "article").docs(searcher))
            paragraphs = searcher.doc_count() - articles
        return ArchiveStats(
            path=str(self.path),
            articles=articles,
            paragraphs=paragraphs,
            size_bytes=_folder_size(self.path),
            last_ingest=self.read_meta().get("last_ingest", ""),
        )

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def writing(self, timeout: float = DEFAULT_WRITE_TIMEOUT) -> Iterator[None]:
        """Hold the archive's writer lock, waiting at most `timeout` seconds for it."""
        lock = filelock.FileLock(self.path / LOCK_FILE, timeout=timeout)
        try:
            lock.acquire()
        except filelock.Timeout as error:
            raise ArchiveBusy(
                f"another Precis process is writing to {self.path}; gave up after "
                f"{timeout:g} s. Try again when it has finished."
            ) from error
        except OSError as error:
            raise ArchiveWriteError(
                f"can't write to the archive at {self.path}: {_reason(error)}", error
            ) from error
        try:
            self._remove_leftovers()  # what a killed writer left: it had this lock
            yield
        finally:
            lock.release()

    def write(
        self,
        articles: Sequence[StoredArticle],
        delete: Sequence[str] = (),
        bands: Mapping[str, bytes] | None = None,
    ) -> None:
        """Store `articles` (replacing any with the same ids) and delete `delete`, atomically;
        `bands` gives each article's packed band keys, by id (see `versions`).

        The caller holds the writer lock (see `writing`). A disk error (full, read-only,
        permission denied) raises `ArchiveWriteError`: the previous generation stays the
        current one, and the files the failed commit left behind are removed.
        """
        index = open_dir(self.path)  # a writable handle; readers keep their read-only one
        try:
            # Segments stay separate files (see workarounds.WRITER_OPTIONS).
            writer = index.writer(timeout=DEFAULT_WRITE_TIMEOUT, **WRITER_OPTIONS)
        except LockError as error:
            raise ArchiveBusy(f"the index at {self.path} is locked by another writer") from error
        except OSError as error:
            raise ArchiveWriteError(
                f"can't write to the archive at {self.path}: {_reason(error)}", error
            ) from error
        try:
            for article_id in {*delete, *(a.id for a in articles)}:
                writer.delete_by_term("article", article_id)
            for stored in articles:
                _add_article(writer, stored, (bands or {}).get(stored.id, b""))
            writer.commit()
        except BaseException as error:
            if not writer.is_closed:
                with suppress(Exception):
                    writer.cancel()
            self._remove_leftovers()
            if isinstance(error, OSError):
                raise ArchiveWriteError(
                    f"can't write to the archive at {self.path}: {_reason(error)}; "
                    "nothing was changed",
                    error,
                ) from error
            raise

    def _remove_leftovers(self) -> None:
        """Delete files that no generation refers to (a failed or killed commit's): orphan
        segments, temporary tables of contents and temporary folders. Only with the writer
        lock held; readers of older generations keep the files they have open."""
        with suppress(Exception):
            index = open_dir(self.path)
            toc = index._read_toc()
            clean_files(index.storage, index.indexname, toc.generation, toc.segments)
            leftovers = ("*.tmp", "_MAIN_*.toc.*", ".*.restoring")
            for leftover in [path for pattern in leftovers for path in self.path.glob(pattern)]:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)

    def read_meta(self) -> dict:
        """Return the archive's small metadata file (last ingest and its summary)."""
        try:
            return json.loads((self.path / META_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def write_meta(self, **values: object) -> None:
        """Update the metadata file atomically (write a temporary file, then rename)."""
        meta = self.read_meta() | values
        temporary = self.path / f"{META_FILE}.tmp"
        try:
            with temporary.open("w", encoding="utf-8") as file:
                file.write(json.dumps(meta, indent=2))
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.path / META_FILE)
        except OSError as error:
            with suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise ArchiveWriteError(
                f"can't write to the archive at {self.path}: {_reason(error)}", error
            ) from error

    def close(self) -> None:
        """Close this thread's snapshot."""
        snapshot = getattr(self._local, "snapshot", None)
        if snapshot is not None:
            snapshot.close()
            self._local.snapshot = None


class Snapshot:
    """One generation of the index as a request sees it: a searcher and its tables.

    A snapshot is used by one thread at a time (Whoosh readers are not shared between
    threads) and closed by that thread when it moves to a newer generation. A newer one is
    opened afresh (see `workarounds.fresh_searcher`).
    """

    def __init__(self, index, path: Path) -> None:
        self.searcher = fresh_searcher(index, WEIGHTING)
        self._path = str(path)
        self._tables: Tables | None = None
        # A thread that ends (or an archive dropped without close) leaves its snapshot to
        # the garbage collector: its segment files are closed then.
        self._closer = weakref.finalize(self, _close_quietly, self.searcher)

    @property
    def tables(self) -> Tables:
        """The generation's arrays, shared with the process's other threads."""
        if self._tables is None:
            self._tables = tables_for(self._path, self.searcher)
        return self._tables

    def current(self) -> bool:
        """Tell whether this is still the index's newest generation."""
        try:
            return self.searcher.up_to_date()
        except OSError:
            return False

    def close(self) -> None:
        self._closer()
        self._tables = None


def _close_quietly(searcher) -> None:
    with suppress(Exception):  # already closed
        searcher.close()


def _add_article(writer, stored: StoredArticle, bands: bytes) -> None:
    article = stored.article
    writer.add_document(
        kind="article",
        article=article.id,
        date=article.date,
        source=article.source,
        category=article.category,
        author_name=article.author,
        hash=stored.content_hash,
        origin=article.origin,
        story=stored.story or article.id,
        bands=bands,
        record=stored.to_json(),
    )
    for number, text in enumerate(article.paragraphs):
        once = {"author": article.author, "dateline": article.dateline} if number == 0 else {}
        writer.add_document(
            **once,
            kind="para",
            article=article.id,
            para=number,
            **{text_field(article.language): text},
            title=article.title,
            date=article.date,
            source=article.source,
            category=article.category,
            language=article.language,
        )


def _folder_size(folder: Path) -> int:
    """Bytes in the folder's files; a file a commit deletes meanwhile counts as nothing."""
    total = 0
    for path in folder.iterdir():
        with suppress(FileNotFoundError):
            if path.is_file():
                total += path.stat().st_size
    return total
