"""Precis under an operator's worst days: reads during commits, SIGKILL, dead parents,
full and read-only disks, backups while serving, and lossless exports.

Everything runs for real: `precis` processes, a served archive on a loopback port, a
small tmpfs filled to the last byte (that part needs root to mount; it is skipped with
the reason otherwise).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import write
from servers import CLI, alive, children_of, clean_env, precis, serving
from whoosh.index import open_dir

from index.archive import ArchiveMissing
from index.ingest import ingest_paths
from index.transfer import export_jsonl
from index.whoosh_backend import WhooshArchive


def report_records(start: int, count: int, *, edition: str = "") -> list[dict]:
    """News-like records whose every paragraph names its own article (marker<k>)."""
    return [
        {
            "id": f"n{k}",
            "title": f"Harbour report {k}{edition}",
            "date": f"20{10 + k % 15:02d}-0{1 + k % 9}-1{k % 10}",
            "source": ("Gazette", "Courier", "Wire")[k % 3],
            "category": ("transport", "council")[k % 2],
            "paragraphs": [
                f"The harbour ferry report {k} marker{k} says the crossing ran on time{edition}.",
                f"Council officers checked marker{k} figures for the harbour on Tuesday.",
            ],
        }
        for k in range(start, start + count)
    ]


def jsonl(path: Path, records: list[dict]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def visible_text(html: str) -> str:
    return re.sub(r"</?mark>", "", html)


# --- consistent reads ---------------------------------------------------------------------


class Readers:
    """Threads that search and read over HTTP until stopped, checking every answer."""

    def __init__(self, server, threads: int = 4) -> None:
        self.server = server
        self.stop = threading.Event()
        self.statuses: Counter[int] = Counter()
        self.problems: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(threads)]

    def check_results(self, data: dict) -> None:
        for result in data["results"]:
            number = result["id"][1:]
            for hit in result["hits"]:
                if f"marker{number}" not in visible_text(hit["html"]):
                    self.problems.append(f"hit of {result['id']} is not its own: {hit['html']}")

    def run(self, seed: int) -> None:
        chooser = random.Random(seed)
        while not self.stop.is_set():
            kind = chooser.choice(["api", "fragment", "page", "article"])
            try:
                if kind == "api":
                    answer = self.server.get("/api/search?q=harbour+ferry&per_page=20")
                    if answer.status == 200:
                        self.check_results(answer.json())
                elif kind == "fragment":
                    answer = self.server.get("/search?q=marker", headers={"HX-Request": "true"})
                elif kind == "page":
                    answer = self.server.get("/search?q=crossing&sort=date&source=Wire")
                else:
                    number = chooser.randrange(200)
                    answer = self.server.get(f"/articles/n{number}?q=harbour")
                    if answer.status == 200 and f"marker{number}" not in answer.text:
                        self.problems.append(f"page of n{number} lacks its marker")
            except OSError as error:
                with self.lock:
                    self.problems.append(f"{kind}: {error!r}")
                continue
            with self.lock:
                self.statuses[answer.status] += 1
                if answer.status != 200:
                    self.problems.append(f"{kind}: HTTP {answer.status}: {answer.text[:300]}")

    @contextmanager
    def running(self):
        for thread in self.threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(timeout=60)


@pytest.fixture
def served_reports(tmp_path):
    """An archive of 200 reports, served by two processes."""
    index = tmp_path / "index"
    env = clean_env(tmp_path, write_token="secret-token")
    archive = WhooshArchive(index, create=True)
    ingest_paths(archive, [jsonl(tmp_path / "first.jsonl", report_records(0, 200))])
    archive.close()
    with serving(index, env) as server:
        yield server, index, env


def test_searches_during_ingest_commits_never_fail(served_reports, tmp_path):
    server, index, env = served_reports
    # 1,500 new articles and 200 changed ones: four commits that add and delete.
    batch = report_records(200, 1500) + report_records(0, 200, edition=" (corrected)")
    source = jsonl(tmp_path / "second.jsonl", batch)
    with Readers(server).running() as readers:
        time.sleep(0.5)
        ingest = precis(
            "ingest", str(source), "--index", str(index), env=env | {"PRECIS_INGEST_BATCH": "500"}
        )
        time.sleep(0.5)
    assert ingest.returncode == 0, ingest.stderr
    assert "1500 added, 200 updated" in ingest.stdout
    assert readers.problems == []
    assert sum(readers.statuses.values()) > 50, readers.statuses
    final = server.get("/api/search?q=corrected&per_page=5").json()
    assert final["total"] == 200


# --- crashes ------------------------------------------------------------------------------


def test_sigkill_at_twenty_moments_of_a_first_ingest(tmp_path):
    source = jsonl(tmp_path / "reports.jsonl", report_records(0, 200))
    env = clean_env(tmp_path)

    def command(index: Path) -> list[str]:
        return ["ingest", str(source), "--index", str(index), "--workers", "1", "--no-progress"]

    started = time.monotonic()
    complete = precis(*command(tmp_path / "timing"), env=env)
    assert complete.returncode == 0, complete.stderr
    duration = time.monotonic() - started

    chooser = random.Random(20)
    outcomes = Counter()
    for run in range(20):
        index = tmp_path / f"first-{run}"
        victim = subprocess.Popen(
            [*CLI, *command(index)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(chooser.uniform(0.2, duration))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        try:
            survivor = WhooshArchive(index)
        except ArchiveMissing:
            outcomes["no archive yet"] += 1
        else:
            stats = survivor.stats()
            assert stats.paragraphs == 2 * stats.articles  # every article whole
            assert survivor.search("harbour").total == stats.articles
            outcomes["partial" if stats.articles < 200 else "complete"] += 1
            survivor.close()
        # The re-run completes the job, without duplicates.
        archive = WhooshArchive(index, create=True)
        report = ingest_paths(archive, [source])
        assert report.ok, report.failed
        assert (archive.stats().articles, archive.stats().paragraphs) == (200, 400)
        assert archive.search("marker7").total == 1
        archive.close()
    assert sum(outcomes.values()) == 20


def test_what_a_killed_writer_left_is_removed_by_the_next(tmp_path):
    index = tmp_path / "index"
    archive = WhooshArchive(index, create=True)
    ingest_paths(archive, [jsonl(tmp_path / "a.jsonl", report_records(0, 5))])
    kept = index_files(index)
    # What a SIGKILL in the middle of a commit or a restore can leave behind:
    (index / "MAIN_k1llmidcommit.seg").write_bytes(b"\0" * 1000)  # an orphan segment
    (index / "_MAIN_99.toc.1764000000.5").write_bytes(b"half a table of contents")
    (index / "MAIN.tmp").mkdir()
    (index / "MAIN.tmp" / "postings").write_bytes(b"\0" * 100)
    (index / ".MAIN_abc.seg.restoring").write_bytes(b"\0" * 10)
    report = ingest_paths(archive, [jsonl(tmp_path / "b.jsonl", report_records(5, 5))])
    assert report.ok and archive.stats().articles == 10
    left = index_files(index) - kept
    live = {segment.segment_id() for segment in open_dir(index)._read_toc().segments}
    assert all(name.endswith(".toc") or name.split(".")[0] in live for name in left), left
    assert not {"MAIN_k1llmidcommit.seg", "MAIN.tmp", ".MAIN_abc.seg.restoring"} & left
    assert not [name for name in left if ".toc." in name]
    archive.close()


def wait_for(condition, timeout: float = 20, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def test_digest_workers_die_with_a_killed_ingest(tmp_path):
    source = jsonl(tmp_path / "many.jsonl", report_records(0, 4000))
    env = clean_env(tmp_path)
    victim = subprocess.Popen(
        [
            *CLI,
            "ingest",
            str(source),
            "--index",
            str(tmp_path / "index"),
            "--workers",
            "2",
            "--no-progress",
        ],  # fmt: skip
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = wait_for(lambda: len(children_of(victim.pid)) >= 2 and children_of(victim.pid))
    assert workers, "the ingest never started its digest workers"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    survivors = wait_for(lambda: not [p for p in workers if alive(p)], timeout=15)
    assert survivors, f"still alive after their parent was killed: {workers}"


def test_server_processes_die_with_a_killed_parent(served_reports):
    server, _, _ = served_reports
    workers = children_of(server.process.pid)
    assert len(workers) == 2
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    assert wait_for(lambda: not [p for p in workers if alive(p)], timeout=15), workers


def test_a_server_process_that_dies_is_replaced(served_reports):
    server, _, _ = served_reports
    first = children_of(server.process.pid)
    os.kill(first[0], signal.SIGKILL)
    assert wait_for(lambda: len(set(children_of(server.process.pid)) - set(first)) == 1)
    assert all(server.get("/search?q=harbour").status == 200 for _ in range(10))


# --- full and read-only disks ---------------------------------------------------------------


def unavailable(reason: str) -> None:
    """Skip where the platform can't make a full or read-only disk; under CI, fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the disk tests: {reason}")
    pytest.skip(reason)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, mounted for the test (needs root)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a small filesystem needs root; this run is not root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        unavailable(f"this machine can't mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte; return the filler file."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(descriptor)
    return filler


def index_files(index: Path) -> set[str]:
    return {p.name for p in index.iterdir()}


def test_full_disk_ingest_and_delete_fail_cleanly_and_can_be_retried(tmp_path, small_disk):
    index = small_disk / "index"
    env = clean_env(tmp_path)
    first = precis("ingest", str(jsonl(tmp_path / "a.jsonl", report_records(0, 20))),
                   "--index", str(index), env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = index_files(index)
    filler = fill(small_disk)

    more = jsonl(tmp_path / "b.jsonl", report_records(20, 300))
    failed = precis("ingest", str(more), "--index", str(index), env=env)
    assert failed.returncode == 1
    assert "No space left on device" in failed.stderr
    assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
    assert index_files(index) == before  # no partial segment left behind
    archive = WhooshArchive(index)
    assert archive.stats().articles == 20  # the previous archive, intact
    archive.close()

    deleted = precis("delete", "n3", "--index", str(index), env=env)
    if deleted.returncode != 0:  # a delete needs a little space too: it must say why
        assert "No space left on device" in deleted.stderr and "Traceback" not in deleted.stderr

    filler.unlink()
    retry = precis("ingest", str(more), "--index", str(index), env=env)
    assert retry.returncode == 0, retry.stderr
    archive = WhooshArchive(index)
    assert archive.stats().articles in (319, 320)
    assert archive.search("marker150").total == 1
    archive.close()


def test_serving_from_a_full_disk_says_why_in_one_line(tmp_path, small_disk):
    fill(small_disk)
    env = clean_env(tmp_path)
    started = precis("serve", "--index", str(small_disk / "new"), "--port", "1", env=env)
    assert started.returncode == 1
    assert "No space left on device" in started.stderr
    assert "Traceback" not in started.stderr and len(started.stderr.strip().splitlines()) == 1
    # Nothing half-made is left to trip the next start: no empty key, no partial index.
    leftovers = list((small_disk / "new").glob("*")) if (small_disk / "new").exists() else []
    assert not [p for p in leftovers if p.name == "secret_key" or p.suffix == ".toc"], leftovers


def test_full_disk_api_write_answers_json_naming_the_cause(tmp_path, small_disk):
    index = small_disk / "index"
    env = clean_env(tmp_path, write_token="secret-token")
    archive = WhooshArchive(index, create=True)
    ingest_paths(archive, [jsonl(tmp_path / "a.jsonl", report_records(0, 10))])
    archive.close()
    with serving(index, env, processes=1) as server:
        filler = fill(small_disk)
        body = json.dumps(report_records(100, 200)).encode()
        headers = {"Authorization": "Bearer secret-token", "Content-Type": "application/json"}
        answer = server.request("/api/articles", method="POST", data=body, headers=headers)
        assert answer.status == 507, answer.text
        assert "No space left on device" in answer.json()["error"]
        assert server.get("/api/search?q=harbour").json()["total"] == 10
        filler.unlink()
        again = server.request("/api/articles", method="POST", data=body, headers=headers)
        assert again.status == 200, again.text
        assert server.get("/api/search?q=harbour").json()["total"] == 210


@contextmanager
def read_only(folder: Path):
    """Make `folder` read-only for real: a read-only bind mount as root, else chmod."""
    if os.geteuid() == 0:
        bound = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
        if bound.returncode != 0:
            unavailable(f"can't bind-mount here: {bound.stderr.decode().strip()}")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)


def test_read_only_folder(tmp_path):
    index = tmp_path / "index"
    archive = WhooshArchive(index, create=True)
    ingest_paths(archive, [jsonl(tmp_path / "a.jsonl", report_records(0, 5))])
    archive.close()
    source = jsonl(tmp_path / "b.jsonl", report_records(5, 5))
    with read_only(index):
        # Read-only mode starts and serves; its add page says it is read-only.
        env = clean_env(tmp_path, read_only="1", write_token="secret-token")
        with serving(index, env, processes=1) as server:
            assert server.get("/api/search?q=harbour").json()["total"] == 5
            assert "read-only" in server.get("/add").text
            refused = server.request(
                "/api/articles",
                method="POST",
                data=b"{}",
                headers={"Authorization": "Bearer secret-token"},
            )
            assert refused.status == 403 and "read-only" in refused.json()["error"]
        # Writing to it says why, in one line.
        env = clean_env(tmp_path)
        failed = precis("ingest", str(source), "--index", str(index), env=env)
        assert failed.returncode == 1
        assert "Read-only file system" in failed.stderr or "Permission denied" in failed.stderr
        assert "Traceback" not in failed.stderr
        # Serving with writes on needs a secret key it can't create: a clear start-up error.
        refused_start = precis("serve", "--index", str(index), "--port", "1", env=env, timeout=60)
        assert refused_start.returncode == 1
        assert "secret key" in refused_start.stderr and "Traceback" not in refused_start.stderr


# --- backups and exports ------------------------------------------------------------------


def test_backup_and_restore_while_searches_and_ingests_run(served_reports, tmp_path):
    server, index, env = served_reports
    more = jsonl(tmp_path / "more.jsonl", report_records(200, 1000))
    with Readers(server).running() as readers:
        ingest = subprocess.Popen(
            [*CLI, "ingest", str(more), "--index", str(index)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        backup = precis("backup", str(tmp_path / "backup"), "--index", str(index), env=env)
        assert backup.returncode == 0, backup.stderr
        _, err = ingest.communicate(timeout=300)
        assert ingest.returncode == 0, err
        # The backup is one consistent generation: whole articles, all searchable.
        copy = WhooshArchive(tmp_path / "backup")
        stats = copy.stats()
        assert 200 <= stats.articles <= 1200 and stats.paragraphs == 2 * stats.articles
        assert copy.search("harbour").total == stats.articles
        copy.close()
        assert not (tmp_path / "backup" / "secret_key").exists()

        refused = precis("restore", str(tmp_path / "backup"), "--index", str(index), env=env)
        assert refused.returncode == 1 and "--force" in refused.stderr
        restored = precis(
            "restore", str(tmp_path / "backup"), "--index", str(index), "--force", env=env
        )
        assert restored.returncode == 0, restored.stderr
        time.sleep(0.5)
    assert readers.problems == []
    assert server.get("/api/search?q=harbour").json()["total"] == stats.articles
    assert server.get("/healthz").json()["articles"] == stats.articles


def test_export_round_trip_is_lossless(tmp_path, sources):
    records = [
        {
            "id": "full-1",
            "title": "Ferry fares rise",
            "standfirst": "Commuters face higher fares from May.",
            "date": "2024-04-02",
            "source": "Harbour Gazette",
            "category": "transport",
            "author": "Ann Writer",
            "url": "https://example.org/ferry-fares",
            "language": "english",
            "reading_time": "2 min read",
            "captions": ["The ferry at the quay [Photo: Gazette]"],
            "paragraphs": [
                "Ferry fares will rise by ten percent in May, the operator said on Tuesday.",
                "The operator blamed the cost of fuel and new crew rules for the increase.",
                "Commuter groups said the rise would push more people into their cars.",
            ],
        }
    ]
    write(sources / "full.json", json.dumps(records))
    original = WhooshArchive(tmp_path / "original", create=True)
    assert ingest_paths(original, [sources]).ok
    exported = tmp_path / "export.jsonl"
    with exported.open("w", encoding="utf-8") as out:
        count = export_jsonl(original, out)
    assert count == original.stats().articles == 5

    copy = WhooshArchive(tmp_path / "copy", create=True)
    report = ingest_paths(copy, [exported])
    assert report.ok and len(report.added) == 5
    for article_id in original.ids():
        before = original.get(article_id).public_record()
        after = copy.get(article_id).public_record()
        before.pop("ingested_at"), after.pop("ingested_at")
        for name, value in before.items():
            assert after[name] == value, (article_id, name)
    seed = next(a for a in original.ids() if copy.get(a).article.reading_time == "3 min read")
    assert copy.get(seed).article.captions  # the seed's caption and reading time survive
    original.close()
    copy.close()
