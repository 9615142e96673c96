"""`precis migrate`: a Whoosh archive copied into a Typesense cluster (and back), whole,
resumable after a kill, its counts checked."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid

from conftest import make_article
from servers import CLI, ROOT, clean_env, precis

from index.archive import open_archive
from index.ingest import store_articles
from index.models import SearchRequest


def article(number: int):
    return make_article(
        f"story-{number:03}",
        f"Council report {number}",
        [
            f"The council met for session {number} and heard about the ferry timetable "
            f"and item{number:03}x on the agenda.",
            f"Councillors voted {number % 7} to {number % 5} on the harbour budget.",
        ],
        source=("Gazette", "Post")[number % 2],
        date=f"20{10 + number % 10}-0{1 + number % 9}-1{number % 10}",
    )


def settings_for(tmp_path, node) -> tuple[dict, dict[str, str]]:
    prefix = f"m{uuid.uuid4().hex[:10]}"
    settings = {
        "index": str(tmp_path / "index"),
        "typesense_nodes": node.url,
        "typesense_api_key": node.api_key,
        "typesense_collection": prefix,
    }
    return settings, clean_env(tmp_path, **settings)


def test_migrate_copies_everything_and_searches_alike(tmp_path, typesense_server):
    settings, env = settings_for(tmp_path, typesense_server)
    folder = open_archive({**settings, "backend": "whoosh"}, create=True)
    store_articles(folder, [article(n) for n in range(30)])
    done = precis("migrate", "--to", "typesense", "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    assert "copied 30 articles, 0 already there" in done.stdout
    cluster = open_archive({**settings, "backend": "typesense"})
    assert cluster.stats().articles == 30 and cluster.stats().paragraphs == 60
    for stored in folder.articles():
        copied = cluster.get(stored.id)
        assert copied.digest == stored.digest and copied.story == stored.story
    # A word seen once: the Whoosh backend adds its close spellings (item017x...), Typesense
    # only looks for them when the word itself is missing (docs/scaling.md).
    assert cluster.search(SearchRequest(query="item007x")).results[0].id == "story-007"
    assert folder.search(SearchRequest(query="item007x")).results[0].id == "story-007"
    for query in ("harbour budget", "council", "ferry timetable"):
        whoosh = folder.search(SearchRequest(query=query, per_page=50, group=False))
        typesense = cluster.search(SearchRequest(query=query, per_page=50, group=False))
        assert typesense.total == whoosh.total, query
        assert {r.id for r in typesense.results} == {r.id for r in whoosh.results}, query

    store_articles(folder, [make_article("story-001", "Council report 1, corrected")])
    again = precis("migrate", "--to", "typesense", "--no-progress", env=env)
    assert "copied 1 articles, 29 already there" in again.stdout, again.stdout
    assert cluster.get("story-001").article.title == "Council report 1, corrected"

    back = precis("migrate", "--to", "whoosh", "--index", str(tmp_path / "back"), env=env)
    assert back.returncode == 0, back.stderr
    restored = open_archive({"backend": "whoosh", "index": tmp_path / "back"})
    assert sorted(restored.known()) == sorted(folder.known())
    cluster.drop()
    cluster.shutdown()


def test_a_killed_migration_finishes_when_run_again(tmp_path, typesense_server):
    settings, env = settings_for(tmp_path, typesense_server)
    folder = open_archive({**settings, "backend": "whoosh"}, create=True)
    store_articles(folder, [article(n) for n in range(300)])
    cluster = open_archive({**settings, "backend": "typesense"}, create=True)
    running = subprocess.Popen(
        [*CLI, "migrate", "--to", "typesense", "--batch", "10", "--no-progress"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not 0 < len(cluster.known()) < 300:  # killed half-way through
            assert running.poll() is None, "the migration finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        running.send_signal(signal.SIGKILL)
    finally:
        running.wait(30)
    copied_before = len(cluster.known())
    assert 0 < copied_before < 300
    # The killed run held the writer lease: a new run waits for it to expire, so take it
    # over as an operator would after checking that no migration is running.
    cluster._release_lease(cluster._lease()["holder"])
    finished = precis("migrate", "--to", "typesense", "--no-progress", env=env)
    assert finished.returncode == 0, finished.stderr
    assert "already there; the target holds 300 articles and 600 paragraphs" in finished.stdout
    skipped = int(finished.stdout.split("articles, ")[1].split(" already")[0].replace(",", ""))
    assert skipped >= copied_before - 10  # at most the batch in flight is copied again
    cluster.drop()
    cluster.shutdown()
