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
import math
import os
import shutil
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import filelock
from sumy.utils import get_stop_words
from whoosh import lang as whoosh_languages
from whoosh.analysis import Analyzer, LanguageAnalyzer, StemmingAnalyzer
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.index import LockError, clean_files, create_in, exists_in, open_dir
from whoosh.lang.snowball.english import EnglishStemmer
from whoosh.query import Term
from whoosh.scoring import BM25F, BM25FScorer

from .models import (
    ArchiveStats,
    KnownArticle,
    SearchPage,
    SearchRequest,
    StoredArticle,
    Version,
)
from .tables import SEGMENT_POSTINGS, Tables, tables_for, vocabulary
from .versions import BandTable, Fingerprint, Match, fingerprint_article, matches

DEFAULT_WRITE_TIMEOUT = 60.0
# Warming reads the postings lists of terms in at least this many documents of a segment:
# rarer terms cost little to read when a search needs them.
WARM_LEAST = 16
META_FILE = "precis.json"
LOCK_FILE = "writer.lock"
# Bumped whenever the schema or the analyzer changes; an older index must be rebuilt.
SCHEMA_VERSION = 6
_ENGLISH = EnglishStemmer()


def stem_english(word: str) -> str:
    """Stem an English word with Snowball (Porter2); Whoosh's own Porter mangles
    double consonants ("running" -> "runn") and plurals like "news" -> "new"."""
    return _ENGLISH.stem(word)


# Function words are not indexed: sumy's English list (580 words), less the words that carry
# news ("new", "first", "may", "us" as in the US...). Whoosh's own list is 35 words.
NEWS_WORDS = frozenset(
    "new first last second third best right old help value us may will well long "
    "little great part next early late home show".split()
)
STOP_LIST = frozenset(get_stop_words("english")) - NEWS_WORDS
ANALYZER = StemmingAnalyzer(stemfn=stem_english, stoplist=STOP_LIST)
# Languages other than English that Whoosh can stem: their paragraphs go in `text_<code>`.
OTHER_LANGUAGES = tuple(code for code in whoosh_languages.languages if code != "en")


def language_code(language: str) -> str:
    """Return the Whoosh code for an article's language ("en" when Whoosh can't stem it)."""
    key = language.strip().lower().replace("_", "-").split("-")[0]
    if key in whoosh_languages.languages:
        return key
    return whoosh_languages.aliases.get(key, "en")


def text_field(language: str) -> str:
    """Return the name of the field that holds paragraphs in `language`."""
    code = language_code(language)
    return "text" if code == "en" else f"text_{code}"


@cache
def analyzer_for(language: str) -> Analyzer:
    """Return the analyzer the index uses for text in `language`."""
    code = language_code(language)
    return ANALYZER if code == "en" else LanguageAnalyzer(code)


def index_terms(text: str, language: str = "en") -> list[str]:
    """Return the distinct terms the index would make of `text`, sorted."""
    return sorted({token.text for token in analyzer_for(language)(text)})


class ArchiveError(RuntimeError):
    """A problem with the archive itself, with a message for the person running Precis."""


class ArchiveMissing(ArchiveError):
    """There is no archive at the given path yet."""


class ArchiveBusy(ArchiveError):
    """Another process is writing to the archive and did not finish in time."""


class ArchiveWriteError(ArchiveError):
    """The disk refused a write (full, read-only, permission denied); nothing was changed."""

    def __init__(self, message: str, cause: OSError | None = None) -> None:
        super().__init__(message)
        self.errno = cause.errno if cause is not None else None


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


class ParagraphBM25(BM25F):
    """BM25 with its statistics taken over paragraph documents only.

    Whoosh's BM25F divides a field's total length by *every* document, article records
    included (which halves the average paragraph length here), and weighs terms with
    idf = log(N / (n + 1)) + 1, which flattens the gap between rare and common words. This
    model counts paragraphs only and uses Robertson and Sparck Jones's idf,
    log((N - n + 0.5) / (n + 0.5)), floored at a small positive weight for words in more
    than half the paragraphs. See docs/benchmarks.md for what each change bought.
    """

    def idf(self, searcher, fieldname: str, text: str) -> float:
        paragraphs = _paragraph_count(searcher)
        frequency = searcher.doc_frequency(fieldname, text)
        return max(0.05, math.log((paragraphs - frequency + 0.5) / (frequency + 0.5)))

    def scorer(self, searcher, fieldname: str, text: str, qf: int = 1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(scorer, BM25FScorer):
            parent = searcher.get_parent()
            scorer.avgfl = parent.field_length(fieldname) / _paragraph_count(parent) or 1
        return scorer


def _paragraph_count(searcher) -> int:
    parent = searcher.get_parent()
    count = getattr(parent, "_precis_paragraphs", None)
    if count is None:
        count = parent._precis_paragraphs = max(1, parent.doc_frequency("kind", "para"))
    return count


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


class WhooshArchive:
    """An archive of articles kept in a Whoosh index folder."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
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

    def searcher(self):
        """Return the searcher of the snapshot pinned by `reading` (or a current one)."""
        with self.reading() as snapshot:
            return snapshot.searcher

    def tables(self) -> Tables:
        """Return the arrays of the pinned snapshot's generation (see `index.tables`)."""
        with self.reading() as snapshot:
            return snapshot.tables

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
        from .search import versions_of

        with self.reading() as snapshot:
            return versions_of(snapshot.searcher, snapshot.tables, article_id)

    def search(self, request: SearchRequest | str = "", **options: object) -> SearchPage:
        """Return one page of results, one per article.

        Takes a SearchRequest, or a query string plus SearchRequest fields as keywords.
        """
        from .search import search_page

        if isinstance(request, str):
            request = SearchRequest(query=request, **options)  # type: ignore[arg-type]
        with self.reading():
            return search_page(self, request)

    def highlight(
        self, stored: StoredArticle, query: str, paragraphs: range | None = None
    ) -> tuple[list[str], list[str]]:
        """Return the article's paragraphs (those in `paragraphs`, or all) and digest
        sentences as HTML, query words marked."""
        from .search import highlight_article

        with self.reading():
            return highlight_article(self, stored, query, paragraphs)

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
            # Segments stay separate files: a reader maps a compound segment and whoosh3
            # copies each of its postings into a BytesIO, per searcher (83 MB per thread
            # at 100,000 paragraphs); separate files are read in place.
            writer = index.writer(timeout=DEFAULT_WRITE_TIMEOUT, compound=False)
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
    opened afresh, never with `searcher.refresh()`: whoosh3 3.54 reuses the old segment
    readers there, with their old deletion sets, so deleted and replaced articles would
    linger.
    """

    def __init__(self, index, path: Path) -> None:
        self.searcher = index.searcher(weighting=WEIGHTING)
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


def band_table(searcher) -> BandTable:
    """The band keys of every stored article (see `versions.BandTable`)."""
    if searcher.doc_count_all() == 0:
        return BandTable.from_packed([])
    reader = searcher.reader()
    ids = reader.column_reader("article")
    bands = reader.column_reader("bands")
    return BandTable.from_packed(
        (ids[doc], bands[doc]) for doc in Term("kind", "article").docs(searcher)
    )


def story_matches(
    searcher,
    new: Fingerprint,
    candidates: Sequence[str],
    seen: dict[str, tuple[str, str, Fingerprint] | None],
) -> list[Match]:
    """The stored articles among `candidates` (ids) telling the same story as `new`,
    closest first, checked exactly on their text. `seen` keeps the candidates read so far
    by id, for the next call with the same searcher: the articles of a batch often share
    candidates (wire copy, a series of reports written to one pattern)."""
    found = []
    for article_id in candidates:
        if article_id not in seen:
            doc = searcher.document_number(kind="article", article=article_id)
            if doc is None:
                seen[article_id] = None
            else:
                stored = StoredArticle.from_json(searcher.stored_fields(doc)["record"])
                story = stored.story or stored.id
                seen[article_id] = (stored.id, story, fingerprint_article(stored.article))
        if seen[article_id] is not None:
            found.append(seen[article_id])
    return matches(new, found)


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


def now() -> str:
    """Return the current UTC time as an ISO 8601 string."""
    return datetime.now(UTC).isoformat(timespec="seconds")
