"""The ingest pipeline: sources -> articles -> digests -> archive, incrementally.

`ingest_paths` walks files and folders, parses each file (a bad file is reported
and skipped), compares every article's content hash with what the archive
already holds, digests only new and changed articles (in worker processes when
there are many), and writes them in batches. Each batch is one atomic commit of
whole articles, so an interrupted run leaves a working archive and re-running it
finishes the job without duplicates. `store_articles` is the same pipeline for
articles that did not come from files (the browser, the API).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

import numpy as np

from .archive import DEFAULT_WRITE_TIMEOUT, Archive, now
from .articles import ArticleError
from .digest import (
    DEFAULT_ALGORITHM,
    DEFAULT_LENGTH,
    parse_length,
    sentence_spans,
    summarize_one,
    summarize_with_pool,
)
from .formats import Problem, format_of, read_path
from .lifetime import die_with_parent
from .models import Article, KnownArticle, StoredArticle
from .terms import distinct_terms
from .versions import SCHEME as VERSIONS_SCHEME
from .versions import (
    BandTable,
    Fingerprint,
    Match,
    StoryFinder,
    band_keys,
    fingerprint_article,
    matches,
)

# Articles per commit: each commit is atomic and adds a segment to the index, so a batch is
# both the most an interrupted run has to redo and a trade against many segments (a search
# looks every word up in every segment: 500 left 20 segments at 100,000 paragraphs).
BATCH_ARTICLES = 2000
PARALLEL_THRESHOLD = 24  # digest in worker processes only when this many articles changed
CHUNK_ARTICLES = 8  # articles per task sent to a digest worker
IN_FLIGHT = 1000  # articles handed to the digest workers and not yet returned


@dataclass
class IngestReport:
    """What an ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    ignored_files: int = 0  # files in folders with extensions Precis doesn't read
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        line = (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.failed)} failed"
        )
        if self.ignored_files:
            line += f" ({self.ignored_files} files of other types ignored)"
        return f"{line} in {self.seconds:.1f} s"


@dataclass(frozen=True)
class DigestSettings:
    """How digests are made; part of each article's content hash, so a change re-digests."""

    length: str = DEFAULT_LENGTH
    algorithm: str = DEFAULT_ALGORITHM

    def signature(self) -> str:
        # The story detection scheme too: changing it re-reads every article's story.
        return f"digest:{self.algorithm}:{self.length}:one-sentence:{VERSIONS_SCHEME}"


@dataclass(frozen=True)
class ArticleLimits:
    """The largest article the archive takes: one huge article would slow every search
    that touches it and its own page (settings `max_article_chars`, `max_article_paragraphs`)."""

    max_chars: int = 500_000
    max_paragraphs: int = 5_000

    def problem(self, article: Article) -> str:
        """Say why `article` is too large, or return ""."""
        if len(article.paragraphs) > self.max_paragraphs:
            return (
                f"article is too long: {len(article.paragraphs):,} paragraphs (at most "
                f"{self.max_paragraphs:,}, setting PRECIS_MAX_ARTICLE_PARAGRAPHS)"
            )
        chars = sum(len(p) for p in article.paragraphs)
        if chars > self.max_chars:
            return (
                f"article is too long: {chars:,} characters (at most {self.max_chars:,}, "
                "setting PRECIS_MAX_ARTICLE_CHARS)"
            )
        return ""


Progress = Callable[[Iterable, int | None, str], Iterable]  # total None: not known ahead


def _no_progress(items: Iterable, total: int | None, label: str) -> Iterable:
    return items


def collect_files(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[Problem], int]:
    """Expand files and folders (recursively) into the files to read.

    Returns (files, problems, ignored): named paths that don't exist are problems;
    files inside folders with extensions Precis doesn't read, and hidden files, are
    counted as ignored. A file named explicitly is always read (and reported if its
    type is unsupported).
    """
    files: list[Path] = []
    problems: list[Problem] = []
    ignored = 0
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path).parts
                if not found.is_file() or any(part.startswith(".") for part in relative):
                    continue
                if format_of(found) is None:
                    ignored += 1
                else:
                    files.append(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), "no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for file in files:
        resolved = file.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append(file)
    return unique, problems, ignored


def digest_article(article: Article, settings: DigestSettings) -> StoredArticle:
    """Compute what the archive stores for an article: sentence boundaries, digest, pool."""
    spans = sentence_spans(article)
    digest, pool = summarize_with_pool(article, settings.length, settings.algorithm, spans=spans)
    short = summarize_one(article, spans)
    for sentence in pool:
        sentence.terms = distinct_terms(sentence.text_in(article.paragraphs), article.language)
    return StoredArticle(
        article=article,
        content_hash=article.content_hash(settings.signature()),
        digest=digest,
        sentence_spans=spans,
        ingested_at=now(),
        digest_pool=pool,
        short_digest=short,
    )


def _worker_setup(parent_pid: int) -> None:
    # Two BLAS threads per worker on a small machine make sumy's LSA erratic.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    # A pool's workers outlive a killed parent (they wait on a queue they hold themselves).
    die_with_parent(parent_pid)


def ingest_paths(
    archive: Archive,
    paths: Sequence[str | os.PathLike[str]],
    *,
    prune: bool = False,
    workers: int = 1,
    settings: DigestSettings | None = None,
    progress: Progress = _no_progress,
    timeout: float = DEFAULT_WRITE_TIMEOUT,
    limits: ArticleLimits | None = None,
    batch: int = BATCH_ARTICLES,
) -> IngestReport:
    """Ingest files and folders into `archive`; see the module docstring.

    `batch` is the number of articles per commit (see BATCH_ARTICLES).

    Files are read one at a time as the digests need articles, so memory holds one file's
    articles and the digests in flight, not the whole input.
    """
    started = time.perf_counter()
    files, problems, ignored = collect_files(paths)
    report = IngestReport(failed=problems, ignored_files=ignored)
    complete_files: dict[str, set[str]] = {}  # origin -> ids, for files read without problems

    def articles() -> Iterator[Article]:
        for path in files:
            try:
                parsed = read_path(path)
            except ArticleError as error:
                report.failed.append(Problem(str(path), str(error)))
                continue
            report.failed.extend(parsed.problems)
            if not parsed.problems:
                complete_files[str(path.resolve())] = {a.id for a in parsed.articles}
            yield from parsed.articles

    with archive.writing(timeout):
        pruned = complete_files if prune else None
        _store(archive, articles(), report, workers, settings, progress, pruned, limits, batch)
        report.seconds = time.perf_counter() - started
        archive.write_meta(last_ingest=now(), last_summary=report.summary())
    return report


def _stale_ids(
    known_articles: dict[str, KnownArticle], complete_files: dict[str, set[str]]
) -> list[str]:
    """Ids of stored articles whose source file is gone, or no longer holds them."""
    stale = []
    for article_id, known in known_articles.items():
        if not known.origin:
            continue  # added from the browser or the API: there is no file to check
        if known.origin in complete_files:
            if article_id not in complete_files[known.origin]:
                stale.append(article_id)
        elif not Path(known.origin).exists():
            stale.append(article_id)
    return stale


def store_articles(
    archive: Archive,
    articles: Sequence[Article],
    *,
    workers: int = 1,
    settings: DigestSettings | None = None,
    timeout: float = DEFAULT_WRITE_TIMEOUT,
    limits: ArticleLimits | None = None,
) -> IngestReport:
    """Digest and store articles that did not come from files (e.g. an upload)."""
    started = time.perf_counter()
    report = IngestReport()
    with archive.writing(timeout):
        _store(archive, articles, report, workers, settings, _no_progress, limits=limits)
    report.seconds = time.perf_counter() - started
    return report


def _store(
    archive: Archive,
    articles: Iterable[Article],
    report: IngestReport,
    workers: int,
    settings: DigestSettings | None,
    progress: Progress,
    complete_files: dict[str, set[str]] | None = None,
    limits: ArticleLimits | None = None,
    batch_size: int = BATCH_ARTICLES,
) -> None:
    """Digest what changed and write it in atomic batches; the caller holds the lock.

    `articles` is consumed lazily. With `complete_files` (origin -> ids read from it,
    filled while `articles` is read), also remove stale articles (prune) in the last commit.
    """
    settings = settings or DigestSettings()
    limits = limits or ArticleLimits()
    parse_length(settings.length)  # fail early on a bad length, before any work
    known = archive.known()
    signature = settings.signature()
    first_origin: dict[str, str] = {}

    def changed() -> Iterator[Article]:
        for article in articles:
            too_large = limits.problem(article)
            if too_large:
                where = f"{article.origin} [{article.id}]" if article.origin else article.id
                report.failed.append(Problem(where, too_large))
                continue
            if article.id in first_origin:
                report.failed.append(
                    Problem(
                        article.origin or article.id,
                        f"duplicate id {article.id!r} (first seen in "
                        f"{first_origin[article.id]}); kept the first",
                    )
                )
                continue
            first_origin[article.id] = article.origin or "this batch"
            previous = known.get(article.id)
            if previous is not None and previous.content_hash == article.content_hash(signature):
                report.unchanged.append(article.id)
            else:
                (report.updated if previous else report.added).append(article.id)
                yield article

    stored_bands: list[BandTable] = []  # built at the first batch, under the lock
    batch: list[StoredArticle] = []
    for stored in _digest_all(changed(), settings, workers, progress):
        batch.append(stored)
        if len(batch) >= batch_size:
            archive.write(batch, bands=place_stories(archive, batch, stored_bands))
            batch = []
    stale = _stale_ids(known, complete_files) if complete_files is not None else []
    stale = [article_id for article_id in stale if article_id not in first_origin]
    if batch or stale:
        archive.write(batch, delete=stale, bands=place_stories(archive, batch, stored_bands))
    report.removed.extend(stale)


def place_stories(
    archive: Archive, batch: list[StoredArticle], table: list[BandTable]
) -> dict[str, bytes]:
    """Put each article of a batch in its story (`StoredArticle.story`): the story of the
    closest article, stored or earlier in the batch, that tells the same story (see
    `versions`), else a story of its own. Returns each article's packed band keys, by id.

    The caller holds the writer lock, so the archive read is the newest write.
    `table` holds the run's `BandTable` once built (at the first batch, from the archive),
    and learns each batch's keys. An article joins one story; two stories it links are not
    merged after the fact."""
    finder = StoryFinder()
    keys_of: dict[str, np.ndarray] = {}
    if not table:
        table.append(archive.band_table())
    stored_bands = table[0]
    seen: dict[str, tuple[str, str, Fingerprint] | None] = {}
    for stored in batch:
        new = fingerprint_article(stored.article)
        keys = band_keys(new.bands)
        candidates = [i for i in stored_bands.candidates(keys) if i != stored.id]
        earlier = story_matches(archive, new, candidates, seen) if candidates else []
        stored.story = finder.place(stored.id, new, also=earlier).story
        keys_of[stored.id] = keys
    for article_id, keys in keys_of.items():  # stored by the commit that follows
        stored_bands.add(article_id, keys)
    return {article_id: keys.astype("<u8").tobytes() for article_id, keys in keys_of.items()}


def story_matches(
    archive: Archive,
    new: Fingerprint,
    candidates: Sequence[str],
    seen: dict[str, tuple[str, str, Fingerprint] | None],
) -> list[Match]:
    """The stored articles among `candidates` (ids) telling the same story as `new`,
    closest first, checked exactly on their text. `seen` keeps the candidates read so far
    by id, for the rest of the batch: the articles of a batch often share candidates (wire
    copy, a series of reports written to one pattern)."""
    unread = [article_id for article_id in candidates if article_id not in seen]
    if unread:
        records = archive.records(unread)
        for article_id in unread:
            stored = records.get(article_id)
            seen[article_id] = (
                None
                if stored is None
                else (stored.id, stored.story or stored.id, fingerprint_article(stored.article))
            )
    found = [seen[article_id] for article_id in candidates if seen[article_id] is not None]
    return matches(new, found)


def _digest_all(
    articles: Iterable[Article], settings: DigestSettings, workers: int, progress: Progress
) -> Iterator[StoredArticle]:
    """Digest `articles` in order, in worker processes when there are enough of them.

    Work is handed out in chunks, and at most IN_FLIGHT articles are out at once: the
    workers keep digesting while the caller writes a batch, and memory stays bounded.
    """
    stream = iter(articles)
    head = list(islice(stream, PARALLEL_THRESHOLD))
    everything = progress(chain(head, stream), None, "digesting")
    if workers <= 1 or len(head) < PARALLEL_THRESHOLD:
        for article in everything:
            yield digest_article(article, settings)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_setup, initargs=(os.getpid(),)
    ) as pool:
        waiting: deque[Future] = deque()
        for chunk in _chunks(everything, CHUNK_ARTICLES):
            waiting.append(pool.submit(_digest_chunk, chunk, settings))
            while len(waiting) * CHUNK_ARTICLES > IN_FLIGHT:
                yield from waiting.popleft().result()
        while waiting:
            yield from waiting.popleft().result()


def _digest_chunk(articles: list[Article], settings: DigestSettings) -> list[StoredArticle]:
    return [digest_article(article, settings) for article in articles]


def _chunks(items: Iterable[Article], size: int) -> Iterator[list[Article]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def delete_article(archive: Archive, article_id: str, timeout: float = 10.0) -> bool:
    """Delete one article and its paragraphs; return whether it was there."""
    with archive.writing(timeout):
        if archive.get(article_id, fresh=True) is None:
            return False
        archive.write([], delete=[article_id])
        return True
