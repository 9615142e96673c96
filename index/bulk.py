"""Bulk ingest over a Dask cluster: `precis ingest --dask SCHEDULER` (or `--dask local`).

The files are split into partitions, and Dask workers read, clean and digest them: the
costly part of an ingest, now spread over as many machines as the cluster has. Each worker
compares its articles' content hashes with what the archive held when the run began (sent
to every worker once), so unchanged articles are not digested again.

This process then does what must happen in order, exactly as a plain ingest does: it walks
the partitions in input order, reports bad files, oversized articles and repeated ids, and
places each batch of new and changed articles in their stories (`ingest.place_stories`).
So the archive ends up the same as after a plain ingest of the same files.

- With Whoosh, batches flow back to the single writer, this process, which commits them.
- With Typesense, each batch is imported by a worker, straight into the cluster, while
  this process places the next batch; the run ends when every import has.

The writer lock is held by this process for the whole run; workers write under it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .archive import DEFAULT_WRITE_TIMEOUT, Archive, now
from .articles import ArticleError
from .formats import Problem, read_path
from .ingest import (
    BATCH_ARTICLES,
    ArticleLimits,
    DigestSettings,
    IngestReport,
    Progress,
    _no_progress,
    _stale_ids,
    collect_files,
    digest_article,
    place_stories,
)
from .models import StoredArticle
from .versions import BandTable

LOCAL = "local"
LOCAL_WORKERS = 2
PARTITIONS_PER_WORKER = 4  # more, smaller partitions balance uneven files better


@contextmanager
def dask_client(address: str, workers: int = LOCAL_WORKERS) -> Iterator[Any]:
    """A Dask client: of a new local cluster on 127.0.0.1 for `local`, else of the
    scheduler at `address` (e.g. tcp://10.0.0.5:8786)."""
    from distributed import Client, LocalCluster

    if address == LOCAL:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()  # workers first, then the scheduler
        return
    with Client(address) as client:
        yield client


def partitions(files: Sequence[Path], count: int) -> list[list[str]]:
    """`files` in `count` runs of consecutive files (input order kept), none empty."""
    count = max(1, min(count, len(files)))
    size, extra = divmod(len(files), count)
    runs, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        runs.append([str(path) for path in files[start:end]])
        start = end
    return [run for run in runs if run]


def prepare_partition(
    paths: list[str], known: dict[str, str], settings: DigestSettings, limits: ArticleLimits
) -> list[tuple]:
    """On a worker: read, clean and digest one partition's files, in order. Returns one
    entry per event: ("failed", Problem), ("file", origin, ids or None if incomplete),
    ("too_large", id, origin, reason), ("unchanged", id, origin) or
    ("changed", id, origin, StoredArticle)."""
    signature = settings.signature()
    events: list[tuple] = []
    for name in paths:
        path = Path(name)
        try:
            parsed = read_path(path)
        except ArticleError as error:
            events.append(("failed", Problem(str(path), str(error))))
            continue
        events.extend(("failed", problem) for problem in parsed.problems)
        ids = None if parsed.problems else [a.id for a in parsed.articles]
        events.append(("file", str(path.resolve()), ids))
        for article in parsed.articles:
            too_large = limits.problem(article)
            if too_large:
                events.append(("too_large", article.id, article.origin, too_large))
            elif known.get(article.id) == article.content_hash(signature):
                events.append(("unchanged", article.id, article.origin))
            else:
                events.append(
                    ("changed", article.id, article.origin, digest_article(article, settings))
                )
    return events


def import_batch(target: dict[str, Any], batch: list[StoredArticle], bands: dict[str, bytes]):
    """On a worker: write one placed batch straight into the Typesense cluster `target`
    (the connection of `TypesenseArchive.connection`). Returns the batch's size."""
    from .typesense_backend import TypesenseArchive

    archive = TypesenseArchive(**target)
    try:
        archive.write(batch, bands=bands)
    finally:
        archive.shutdown()
    return len(batch)


class _RunRecords:
    """The archive as story placement reads it during a run whose batches may not be
    written yet (Typesense imports run on workers): this run's placed articles first."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.placed: dict[str, StoredArticle] = {}

    def band_table(self) -> BandTable:
        return self.archive.band_table()

    def records(self, ids: Sequence[str], *, fresh: bool = True) -> dict[str, StoredArticle]:
        found = {i: self.placed[i] for i in ids if i in self.placed}
        rest = [i for i in ids if i not in found]
        return found | (self.archive.records(rest) if rest else {})


def ingest_with_dask(
    archive: Archive,
    paths: Sequence[str | os.PathLike[str]],
    address: str,
    *,
    prune: bool = False,
    settings: DigestSettings | None = None,
    progress: Progress = _no_progress,
    timeout: float = DEFAULT_WRITE_TIMEOUT,
    limits: ArticleLimits | None = None,
    batch: int = BATCH_ARTICLES,
    workers: int = LOCAL_WORKERS,
) -> IngestReport:
    """Ingest files and folders into `archive` with the Dask cluster at `address` (see
    the module docstring); the report is the one a plain ingest gives."""
    started = time.perf_counter()
    settings = settings or DigestSettings()
    limits = limits or ArticleLimits()
    files, problems, ignored = collect_files(paths)
    report = IngestReport(failed=problems, ignored_files=ignored)
    complete_files: dict[str, set[str]] = {}
    direct = getattr(archive, "connection", None)  # Typesense: workers import batches
    with archive.writing(timeout), dask_client(address, workers) as client:
        known = archive.known()
        # One copy per worker, sent once (a dict given to scatter is scattered by item).
        hashes = {i: k.content_hash for i, k in known.items()}
        [hashes] = client.scatter([hashes], broadcast=True)
        runs = partitions(files, max(1, len(client.scheduler_info()["workers"]))
                          * PARTITIONS_PER_WORKER)  # fmt: skip
        futures = [client.submit(prepare_partition, run, hashes, settings, limits,
                                 pure=False) for run in runs]  # fmt: skip
        run_records = _RunRecords(archive)
        table: list[BandTable] = []
        imports: list = []
        first_origin: dict[str, str] = {}
        pending: list[StoredArticle] = []

        def flush(delete: Sequence[str] = ()) -> None:
            placed = list(pending)
            pending.clear()
            bands = place_stories(run_records, placed, table) if placed else {}
            if direct is None:
                archive.write(placed, delete=delete, bands=bands)
                return
            run_records.placed.update((stored.id, stored) for stored in placed)
            if placed:
                imports.append(client.submit(import_batch, direct(), placed, bands, pure=False))
            if delete:
                archive.write([], delete=delete)

        for future in progress(futures, len(futures), "partitions"):
            for event in future.result():
                kind = event[0]
                if kind == "failed":
                    report.failed.append(event[1])
                elif kind == "file":
                    if event[2] is not None:
                        complete_files[event[1]] = set(event[2])
                elif kind == "too_large":
                    _, article_id, origin, reason = event
                    where = f"{origin} [{article_id}]" if origin else article_id
                    report.failed.append(Problem(where, reason))
                else:
                    article_id, origin = event[1], event[2]
                    if article_id in first_origin:
                        report.failed.append(Problem(
                            origin or article_id,
                            f"duplicate id {article_id!r} (first seen in "
                            f"{first_origin[article_id]}); kept the first",
                        ))  # fmt: skip
                        continue
                    first_origin[article_id] = origin or "this batch"
                    if kind == "unchanged":
                        report.unchanged.append(article_id)
                        continue
                    (report.updated if article_id in known else report.added).append(article_id)
                    pending.append(event[3])
                    if len(pending) >= batch:
                        flush()
            future.release()
        stale = _stale_ids(known, complete_files) if prune else []
        stale = [article_id for article_id in stale if article_id not in first_origin]
        if pending or stale:
            flush(stale)
        for done in imports:
            done.result()  # an import that failed raises here
        report.removed.extend(stale)
        report.seconds = time.perf_counter() - started
        archive.write_meta(last_ingest=now(), last_summary=report.summary())
    return report
