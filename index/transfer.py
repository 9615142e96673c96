"""Moving articles out of an archive: a JSON Lines export, and a copy into another archive
(`precis migrate`), whatever the backends.

An export holds every article in the public record shape, which is also an ingest format:
ingesting the export into an empty archive gives the same articles back.
"""

from __future__ import annotations

import json
from typing import IO

from .archive import Archive


def export_jsonl(archive: Archive, out: IO[str]) -> int:
    """Write every article as one JSON line in the public record shape; return the count."""
    count = 0
    for stored in archive.articles():
        out.write(json.dumps(stored.public_record(), ensure_ascii=False) + "\n")
        count += 1
    return count
