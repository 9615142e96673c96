"""Two writers at once: the second waits for the first, or gives up with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import write

from index.whoosh_backend import WhooshArchive

PRECIS = [sys.executable, "-m", "webapp.cli"]
HOLD_LOCK = """
import sys, time
from index.whoosh_backend import WhooshArchive
archive = WhooshArchive(sys.argv[1], create=True)
with archive.writing():
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_writer_lock(index_dir: Path, seconds: float) -> subprocess.Popen:
    """Start a process that holds the archive's writer lock; return once it has it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(index_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def corpus(folder: Path, prefix: str, count: int) -> Path:
    records = [
        {"id": f"{prefix}{n}", "title": f"Story {prefix}{n}", "text": f"Body of story {n} here."}
        for n in range(count)
    ]
    return write(folder / f"{prefix}.jsonl", "\n".join(json.dumps(r) for r in records))


def test_second_writer_gives_up_with_a_clear_message(tmp_path, index_dir):
    source = corpus(tmp_path, "a", 3)
    holder = hold_writer_lock(index_dir, 30)
    try:
        result = subprocess.run(
            [*PRECIS, "ingest", str(source), "--index", str(index_dir), "--wait", "0.5"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.communicate()
    assert result.returncode == 1
    assert "another Precis process is writing" in result.stderr
    assert "Traceback" not in result.stderr and "LockError" not in result.stderr
    # The lock dies with its process; the archive is intact and takes the ingest now.
    retry = subprocess.run(
        [*PRECIS, "ingest", str(source), "--index", str(index_dir), "--wait", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert retry.returncode == 0, retry.stderr
    assert WhooshArchive(index_dir).stats().articles == 3


def test_second_writer_waits_for_the_first(tmp_path, index_dir):
    holder = hold_writer_lock(index_dir, 1.5)
    waiting = subprocess.Popen(
        [*PRECIS, "ingest", str(corpus(tmp_path, "b", 4)), "--index", str(index_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holder.communicate(timeout=30)
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "4 added" in out


def test_concurrent_ingests_both_land_without_duplicates(tmp_path, index_dir):
    WhooshArchive(index_dir, create=True)
    sources = [corpus(tmp_path, prefix, 40) for prefix in ("x", "y")]
    runs = [
        subprocess.Popen(
            [*PRECIS, "ingest", str(source), str(sources[0]), "--index", str(index_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for source in sources
    ]
    for run in runs:
        _, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
    archive = WhooshArchive(index_dir)
    assert archive.stats().articles == 80
    assert archive.stats().paragraphs == 80
