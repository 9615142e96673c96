"""The ingest pipeline on real Whoosh archives: idempotence, replacement, prune, bad files."""

from __future__ import annotations

import json

from conftest import SEED_TEXT, make_article, write

from index.digest import summarize
from index.ingest import (
    PARALLEL_THRESHOLD,
    DigestSettings,
    delete_article,
    ingest_paths,
    store_articles,
)
from index.whoosh_backend import WhooshArchive


def paragraph_ids(archive) -> list[tuple[str, int]]:
    """Every paragraph document in the archive, as (article id, paragraph number)."""
    with archive.reading(fresh=True) as snapshot:  # the Whoosh backend's own documents
        return sorted(
            (fields["article"], fields["para"])
            for fields in snapshot.searcher.all_stored_fields()
            if "para" in fields
        )


def test_ingest_adds_every_article_with_digest_and_sentences(archive, sources):
    report = ingest_paths(archive, [sources])
    assert report.ok
    assert len(report.added) == 4
    seed_id = next(i for i in report.added if i.startswith("seed-"))
    stored = archive.get(seed_id)
    assert stored.article.date == "2016-02-11"
    assert stored.digest.sentences
    for sentence in stored.digest.sentences:
        assert sentence.text in stored.article.paragraphs[sentence.paragraph]
    assert len(stored.sentence_spans) == len(stored.article.paragraphs)
    assert stored.digest == summarize(stored.article)  # the Python API gives the stored digest
    start, end = stored.sentence_spans[0][0]
    assert stored.article.paragraphs[0][start:end].startswith("Defence chief Ashton Carter")
    stats = archive.stats()
    assert (stats.articles, stats.paragraphs) == (4, 4 + 3 * 2)
    assert stats.last_ingest


def test_reingesting_unchanged_articles_does_nothing(archive, sources):
    ingest_paths(archive, [sources])
    before = paragraph_ids(archive)
    report = ingest_paths(archive, [sources, sources / "seed.txt"])
    assert (report.added, report.updated, len(report.unchanged)) == ([], [], 4)
    assert paragraph_ids(archive) == before
    assert len(before) == len(set(before))


def test_changed_article_is_replaced_whole(archive, sources):
    ingest_paths(archive, [sources])
    briefs = sources / "briefs.jsonl"
    lines = briefs.read_text("utf-8").splitlines()
    record = json.loads(lines[0])
    record["paragraphs"] = ["Only one paragraph now, about a meteor shower instead."]
    lines[0] = json.dumps(record)
    briefs.write_text("\n".join(lines), "utf-8")

    report = ingest_paths(archive, [sources])
    assert report.updated == ["brief-1"]
    assert [p for a, p in paragraph_ids(archive) if a == "brief-1"] == [0]
    assert "brief-1" not in [r.id for r in archive.search("comet").results]
    assert archive.search("comet").total == 2
    assert [r.id for r in archive.search("meteor").results] == ["brief-1"]


def test_changing_digest_settings_redigests(archive, sources):
    ingest_paths(archive, [sources])
    report = ingest_paths(archive, [sources], settings=DigestSettings(length="1"))
    assert len(report.updated) == 4
    assert all(len(archive.get(i).digest.sentences) <= 1 for i in report.updated)


def test_prune_removes_articles_whose_files_are_gone(archive, sources):
    extra = write(sources / "more" / "extra.txt", "Extra title\n\nExtra body about ferries.")
    ingest_paths(archive, [sources])
    assert archive.stats().articles == 5
    extra.unlink()
    lines = (sources / "briefs.jsonl").read_text("utf-8").splitlines()
    (sources / "briefs.jsonl").write_text("\n".join(lines[1:]), "utf-8")

    kept = ingest_paths(archive, [sources])  # without --prune nothing is removed
    assert kept.removed == [] and archive.stats().articles == 5
    report = ingest_paths(archive, [sources], prune=True)
    assert sorted(report.removed)[0] == "brief-1"
    assert sorted(report.removed)[1].startswith("extra-")
    assert len(report.removed) == 2
    assert archive.stats().articles == 3
    assert archive.search("ferries").total == 0


def test_prune_keeps_articles_of_a_file_that_now_fails(archive, sources):
    ingest_paths(archive, [sources])
    (sources / "briefs.jsonl").write_text('{"id": "brief-1", broken\n', "utf-8")
    report = ingest_paths(archive, [sources], prune=True)
    assert not report.ok
    assert report.removed == []
    assert archive.stats().articles == 4


def test_bad_files_are_reported_and_the_batch_goes_on(archive, sources):
    ingest_paths(archive, [sources])
    write(sources / "binary.txt", b"\x00\x01\x02\x03")
    write(sources / "latin1.txt", "Caf\xe9\n\nBody".encode("latin-1"))
    write(sources / "empty.md", "")
    write(sources / "new.txt", "A new article\n\nIt is about a new library opening.")
    write(sources / "notes.docx", b"PK\x03\x04")  # another type in a folder: ignored
    report = ingest_paths(archive, [sources, sources / "missing.json"])
    reasons = {p.where.rsplit("/", 1)[-1]: p.reason for p in report.failed}
    assert set(reasons) == {"binary.txt", "latin1.txt", "empty.md", "missing.json"}
    assert "binary" in reasons["binary.txt"] and "UTF-8" in reasons["latin1.txt"]
    assert "no such file" in reasons["missing.json"]
    assert len(report.added) == 1 and len(report.unchanged) == 4
    assert report.ignored_files == 1
    assert archive.stats().articles == 5


def test_duplicate_ids_in_one_batch_keep_the_first(archive, tmp_path):
    write(tmp_path / "a.json", json.dumps({"id": "same", "title": "First", "text": "One."}))
    write(tmp_path / "b.json", json.dumps({"id": "same", "title": "Second", "text": "Two."}))
    report = ingest_paths(archive, [tmp_path / "a.json", tmp_path / "b.json"])
    assert report.added == ["same"]
    assert "duplicate id" in report.failed[0].reason
    assert archive.get("same").article.title == "First"
    assert paragraph_ids(archive) == [("same", 0)]


def test_parallel_digests_match_serial_ones(tmp_path):
    records = [
        {
            "id": f"n{n}",
            "title": f"Council story {n}",
            "paragraphs": [
                f"The council met on day {n} to discuss the ferry and the new library.",
                f"Residents asked {n} questions about the timetable and the opening hours.",
                "The mayor promised an answer before the end of the month.",
            ],
        }
        for n in range(PARALLEL_THRESHOLD + 6)
    ]
    source = write(tmp_path / "many.jsonl", "\n".join(json.dumps(r) for r in records))
    serial = WhooshArchive(tmp_path / "serial", create=True)
    parallel = WhooshArchive(tmp_path / "parallel", create=True)
    ingest_paths(serial, [source], workers=1)
    report = ingest_paths(parallel, [source], workers=2)
    assert len(report.added) == len(records)
    for record in records:
        assert parallel.get(record["id"]).digest == serial.get(record["id"]).digest


def test_store_articles_and_delete(archive):
    report = store_articles(archive, [make_article("up1"), make_article("up2", title="Other")])
    assert report.added == ["up1", "up2"]
    assert archive.get("up1").article.origin == ""
    assert delete_article(archive, "up1") is True
    assert delete_article(archive, "up1") is False
    assert archive.get("up1") is None
    assert {a for a, _ in paragraph_ids(archive)} == {"up2"}


def test_seed_caption_never_searchable_as_body(archive, tmp_path):
    ingest_paths(archive, [write(tmp_path / "seed.txt", SEED_TEXT)])
    assert archive.search("Getty").total == 0
    assert archive.search("Carter Brussels").total == 1
