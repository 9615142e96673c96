"""`precis ingest --dask`: reading, cleaning and digesting on a local two-worker Dask
cluster (127.0.0.1) gives the archive a plain ingest of the same files gives."""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import SEED_TEXT, write
from servers import clean_env, precis

from index.archive import open_archive
from index.models import SearchRequest


@pytest.fixture
def newsroom(tmp_path):
    """Files of every kind: copies of one story in two files, a bad file, a repeated id."""
    folder = tmp_path / "in"
    lines = []
    for number in range(40):
        lines.append(json.dumps({
            "id": f"wire-{number:02}",
            "title": f"Harbour council vote number {number}",
            "date": f"2019-0{1 + number % 9}-1{number % 10}",
            "source": ("Gazette", "Post", "Wire")[number % 3],
            "text": f"The harbour council voted {number} times on the ferry timetable, "
            f"officials said on Monday.\\n\\nItem{number:02}q was approved after a long debate "
            "about fares and the winter crossings, the council said.\\n\\nFishermen said "
            "the crossings were often late.",
        }))  # fmt: skip
    write(folder / "wire.jsonl", "\n".join(lines))
    copy = json.loads(lines[3]) | {"id": "wire-03-copy", "source": "Elsewhere"}
    write(folder / "more" / "copy.json", json.dumps(copy))
    write(folder / "more" / "again.json", json.dumps(json.loads(lines[5])))  # repeated id
    write(folder / "seed.txt", SEED_TEXT)
    write(folder / "broken.json", "{not json")
    return folder


def records(archive) -> list[dict]:
    found = []
    for stored in archive.articles():
        record = stored.public_record()
        del record["ingested_at"]
        found.append(record)
    return found


def ingest(tmp_path, folder, name, *extra, **settings):
    env = clean_env(tmp_path, index=str(tmp_path / name), **settings)
    return precis("ingest", "--no-progress", *extra, str(folder), env=env, timeout=600)


def test_a_dask_ingest_gives_the_archive_a_plain_ingest_gives(tmp_path, newsroom):
    plain = ingest(tmp_path, newsroom, "plain")
    dask = ingest(tmp_path, newsroom, "dask", "--dask", "local", "--workers", "2")
    assert plain.returncode == dask.returncode == 1  # the broken file and the repeated id
    assert dask.stdout.split(" in ")[0] == plain.stdout.split(" in ")[0]
    assert "42 added" in dask.stdout
    assert sorted(dask.stderr.splitlines()) == sorted(plain.stderr.splitlines())
    first = open_archive({"backend": "whoosh", "index": tmp_path / "plain"})
    second = open_archive({"backend": "whoosh", "index": tmp_path / "dask"})
    assert records(second) == records(first)
    assert second.get("wire-03").story == second.get("wire-03-copy").story  # one story
    for query in ("ferry timetable", "item07q", "fishermen late"):
        a = first.search(SearchRequest(query=query))
        b = second.search(SearchRequest(query=query))
        assert [r.id for r in b.results] == [r.id for r in a.results]
    again = ingest(tmp_path, newsroom, "dask", "--dask", "local")
    assert "0 added, 0 updated, 42 unchanged" in again.stdout


def test_a_dask_ingest_into_typesense_imports_on_the_workers(
    tmp_path, newsroom, typesense_server
):
    prefix = f"d{uuid.uuid4().hex[:10]}"
    cluster = {
        "backend": "typesense",
        "typesense_nodes": typesense_server.url,
        "typesense_api_key": typesense_server.api_key,
        "typesense_collection": prefix,
    }
    plain = ingest(tmp_path, newsroom, "plain")
    dask = ingest(tmp_path, newsroom, "unused", "--dask", "local", **cluster)
    assert dask.stdout.split(" in ")[0] == plain.stdout.split(" in ")[0], dask.stderr
    first = open_archive({"backend": "whoosh", "index": tmp_path / "plain"})
    second = open_archive(cluster)
    assert records(second) == records(first)
    page = second.search(SearchRequest(query="ferry timetable"))
    assert page.total == first.search(SearchRequest(query="ferry timetable")).total
    second.drop()
    second.shutdown()


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, newsroom):
    result = ingest(tmp_path, newsroom, "x", "--dask", "tcp://127.0.0.1:9")
    assert result.returncode == 1
    assert "Dask at tcp://127.0.0.1:9" in result.stderr
