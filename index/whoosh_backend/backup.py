"""Backups and restores of a Whoosh archive, safe while it is served and written to.

A Whoosh index is a table of contents (`_MAIN_<generation>.toc`) naming immutable segment
files; a commit writes new segments and a new table, then deletes what no table names.
So a consistent snapshot is one table of contents and the segments it names:

- `backup` hard-links them into a staging folder while it holds the writer lock (a few
  milliseconds; it copies instead where links are not possible), then copies them to the
  destination without the lock, so ingests wait only for the links. The destination
  appears whole or not at all (it is written under another name and renamed).
- `restore` copies a backup's segments into the archive folder and commits a new table of
  contents naming them, under the writer lock: readers see the old archive or the restored
  one, never a mixture, and a running server picks the restored one up at its next request.

The secret key (`secret_key`) is never part of a backup: it signs sessions, and a backup
may be kept somewhere less private than the server.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from whoosh.index import TOC, clean_files, open_dir

from .store import (
    DEFAULT_WRITE_TIMEOUT,
    META_FILE,
    ArchiveError,
    ArchiveMissing,
    WhooshArchive,
    _disk_errors,
)

INDEX_NAME = "MAIN"


@dataclass
class BackupReport:
    """What a backup or restore copied."""

    path: str
    articles: int
    files: int
    size_bytes: int


def _snapshot_files(folder: Path) -> tuple[TOC, list[str]]:
    """The newest table of contents and the names of every file it needs."""
    storage = open_dir(folder).storage
    toc = TOC.read(storage, INDEX_NAME)
    wanted = {segment.segment_id() for segment in toc.segments}
    pattern = TOC._segment_pattern(INDEX_NAME)
    names = [TOC._filename(INDEX_NAME, toc.generation)]
    for name in sorted(os.listdir(folder)):
        match = pattern.match(name)
        if match and match.group(1) in wanted:
            names.append(name)
    return toc, names


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _is_empty_folder(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def backup(
    archive: WhooshArchive,
    destination: str | os.PathLike[str],
    timeout: float = DEFAULT_WRITE_TIMEOUT,
) -> BackupReport:
    """Copy a consistent snapshot of `archive` to `destination` (new or an empty folder)."""
    target = Path(destination)
    if target.exists() and not _is_empty_folder(target):
        raise ArchiveError(f"{target} already exists and is not empty; choose a new folder")
    staging = archive.path / f".backup-{secrets.token_hex(4)}"
    partial = target.with_name(f".{target.name}.partial-{secrets.token_hex(4)}")
    try:
        with _disk_errors(f"can't back up {archive.path} to {target}"):
            with archive.writing(timeout):
                staging.mkdir()
                _, names = _snapshot_files(archive.path)
                for name in [*names, META_FILE]:
                    if (archive.path / name).exists():
                        _link_or_copy(archive.path / name, staging / name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(staging, partial)
            _fsync_folder(partial)
            if target.exists():
                target.rmdir()
            partial.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(partial, ignore_errors=True)
    return _report(target)


def restore(
    source: str | os.PathLike[str],
    archive_path: str | os.PathLike[str],
    *,
    force: bool = False,
    timeout: float = DEFAULT_WRITE_TIMEOUT,
) -> BackupReport:
    """Make the archive at `archive_path` a copy of the backup at `source`.

    Refuses to replace an archive that holds articles unless `force` is given.
    """
    origin = Path(source)
    try:
        WhooshArchive(origin).close()  # a backup Precis can read, of this schema version
    except ArchiveMissing as error:
        raise ArchiveError(f"{origin} is not a Precis backup (no index in it)") from error
    archive = WhooshArchive(archive_path, create=True)
    try:
        articles = archive.stats().articles
    finally:
        archive.close()
    if articles and not force:
        raise ArchiveError(
            f"the archive at {archive.path} holds {articles:,} articles; restoring would "
            "replace them. Add --force to do it anyway (back it up first)."
        )
    with _disk_errors(f"can't restore {origin} into {archive.path}"):
        with archive.writing(timeout):
            toc, names = _snapshot_files(origin)
            copied: list[Path] = []
            try:
                for name in names[1:]:  # the segments; the table of contents is written anew
                    # Never into an existing file: readers have segments mapped in memory,
                    # and one truncated under them dies of SIGBUS. Copy aside, then rename.
                    incoming = archive.path / f".{name}.restoring"
                    existed = (archive.path / name).exists()
                    shutil.copy2(origin / name, incoming)
                    os.replace(incoming, archive.path / name)
                    if not existed:  # on failure, remove only what the archive did not have
                        copied.append(archive.path / name)
                storage = open_dir(archive.path).storage
                generation = TOC._latest_generation(storage, INDEX_NAME) + 1
                TOC(toc.schema, toc.segments, generation).write(storage, INDEX_NAME)
            except BaseException:
                for path in copied:
                    path.unlink(missing_ok=True)
                raise
            clean_files(storage, INDEX_NAME, generation, toc.segments)
            meta = json.loads((origin / META_FILE).read_text("utf-8"))
            archive.write_meta(**meta)
    return _report(archive.path)


def _report(path: Path) -> BackupReport:
    archive = WhooshArchive(path)
    try:
        stats = archive.stats()
    finally:
        archive.close()
    files = [p for p in path.iterdir() if p.is_file()]
    return BackupReport(str(path), stats.articles, len(files), sum(p.stat().st_size for p in files))


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as file:
            os.fsync(file.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
