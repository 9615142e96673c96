"""Moving articles out of an archive: a JSON Lines export, and a copy into another archive
(`precis migrate`), whatever the backends.

An export holds every article in the public record shape, which is also an ingest format:
ingesting the export into an empty archive gives the same articles back.

A migration copies stored articles as they are (digests, stories, ingest times): nothing is
digested again. It is resumable: each batch is written before the next is read, and an
article the target already holds with the same content hash is skipped, so running it again
after an interruption copies only what is left. At the end the counts are checked: every
article of the source is in the target, with as many paragraphs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from .archive import DEFAULT_WRITE_TIMEOUT, Archive, ArchiveError
from .models import StoredArticle
from .versions import band_keys, fingerprint_article

MIGRATE_BATCH = 500  # articles per write

Progress = Callable[[Iterable, int | None, str], Iterable]


@dataclass
class MigrateReport:
    """What a migration did and what it found at the end."""

    copied: int = 0
    skipped: int = 0  # already in the target, unchanged
    articles: int = 0  # in the target at the end
    paragraphs: int = 0
    extra: list[str] = field(default_factory=list)  # in the target, not in the source

    def summary(self) -> str:
        text = (
            f"copied {self.copied:,} articles, {self.skipped:,} already there; the target "
            f"holds {self.articles:,} articles and {self.paragraphs:,} paragraphs"
        )
        if self.extra:
            text += f" ({len(self.extra):,} of them not in the source)"
        return text


def migrate(
    source: Archive,
    target: Archive,
    *,
    progress: Progress = lambda items, total, label: items,
    batch: int = MIGRATE_BATCH,
    timeout: float = DEFAULT_WRITE_TIMEOUT,
) -> MigrateReport:
    """Copy every article of `source` into `target` (see the module docstring); raise
    ArchiveError if the counts don't agree at the end."""
    report = MigrateReport()
    expected_paragraphs: dict[str, int] = {}
    with target.writing(timeout):
        known = target.known()
        total = source.stats().articles
        pending: list[StoredArticle] = []
        for stored in progress(source.articles(), total, "copying"):
            expected_paragraphs[stored.id] = len(stored.article.paragraphs)
            held = known.get(stored.id)
            if held is not None and held.content_hash == stored.content_hash:
                report.skipped += 1
                continue
            pending.append(stored)
            if len(pending) >= batch:
                _copy(target, pending)
                report.copied += len(pending)
                pending = []
        if pending:
            _copy(target, pending)
            report.copied += len(pending)
        if report.copied:
            target.write_meta(last_ingest=source.read_meta().get("last_ingest", ""))
    _verify(source, target, expected_paragraphs, report)
    return report


def _copy(target: Archive, articles: list[StoredArticle]) -> None:
    bands = {
        stored.id: band_keys(fingerprint_article(stored.article).bands).astype("<u8").tobytes()
        for stored in articles
    }
    target.write(articles, bands=bands)


def _verify(
    source: Archive, target: Archive, paragraphs: dict[str, int], report: MigrateReport
) -> None:
    held = target.known()
    missing = sorted(set(paragraphs) - set(held))
    if missing:
        raise ArchiveError(
            f"{len(missing):,} articles of the source are not in the target after copying "
            f"(first: {missing[0]!r}); run the migration again"
        )
    report.extra = sorted(set(held) - set(paragraphs))
    stats = target.stats()
    report.articles, report.paragraphs = stats.articles, stats.paragraphs
    expected = sum(paragraphs.values())
    if not report.extra and (stats.articles, stats.paragraphs) != (len(paragraphs), expected):
        raise ArchiveError(
            f"the target holds {stats.articles:,} articles and {stats.paragraphs:,} paragraphs; "
            f"the source has {len(paragraphs):,} and {expected:,}. Run the migration again"
        )



def export_jsonl(archive: Archive, out: IO[str]) -> int:
    """Write every article as one JSON line in the public record shape; return the count."""
    count = 0
    for stored in archive.articles():
        out.write(json.dumps(stored.public_record(), ensure_ascii=False) + "\n")
        count += 1
    return count
