"""An ingest killed with SIGKILL leaves a working archive; re-running it completes the job."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import write

from index.archive import ArchiveMissing
from index.whoosh_backend import WhooshArchive


@pytest.mark.parametrize("delay", [0.8, 1.6, 2.4])
def test_sigkill_mid_ingest_loses_and_duplicates_nothing(tmp_path, index_dir, delay):
    records = [
        {
            "id": f"k{n}",
            "title": f"Council report {n}",
            "paragraphs": [f"Paragraph one of report {n} on the ferry.", f"Second part of {n}."],
        }
        for n in range(1500)
    ]
    source = write(tmp_path / "many.jsonl", "\n".join(json.dumps(r) for r in records))
    command = [sys.executable, "-m", "webapp.cli", "ingest", str(source), "--index",
               str(index_dir), "--workers", "1"]  # fmt: skip
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    try:
        survivor = WhooshArchive(index_dir)
    except ArchiveMissing:
        pass  # killed before the archive was created
    else:
        stats = survivor.stats()
        # Whatever survived is whole: each stored article has exactly its two paragraphs.
        assert stats.paragraphs == 2 * stats.articles
        survivor.close()

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    archive = WhooshArchive(index_dir)
    stats = archive.stats()
    assert (stats.articles, stats.paragraphs) == (1500, 3000)
    assert archive.search("ferry").total == 1500
