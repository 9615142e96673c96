"""The `precis` command: each subcommand, its JSON shapes, help and errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import SEED_TEXT, write

from webapp.cli import main


@pytest.fixture
def run(index_dir):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, [*args], input=input, env={"PRECIS_INDEX": str(index_dir)})

    return invoke


def test_ingest_search_stats_delete(run, sources):
    result = run("ingest", str(sources), "--no-progress")
    assert result.exit_code == 0, result.output
    assert "4 added, 0 updated, 0 unchanged, 0 removed, 0 failed" in result.output
    assert "1 added" not in run("ingest", str(sources)).output

    found = run("search", "Carter Brussels", "--json")
    data = json.loads(found.output)
    assert set(data) == {"query", "total", "results"}
    assert data["total"] == 1
    result = data["results"][0]
    assert set(result) == {
        "id", "title", "date", "source", "category", "url", "score", "digest", "hits", "missing",
        "versions", "short_digest",
    }  # fmt: skip
    assert result["date"] == "2016-02-11"
    assert set(result["digest"][0]) == {"text", "paragraph"}
    assert set(result["hits"][0]) == {"paragraph", "text", "marks", "html"}
    assert "<mark" in result["hits"][0]["html"]

    text = run("search", "comet", "--limit", "2").output
    assert "3 article(s) match" in text and text.count("\n  ¶") >= 2

    stats = json.loads(run("stats", "--json").output)
    assert (stats["articles"], stats["paragraphs"]) == (4, 10)
    assert "articles:    4" in run("stats").output

    assert run("delete", "brief-1").exit_code == 0
    missing = run("delete", "brief-1")
    assert missing.exit_code == 1 and "no article with id 'brief-1'" in missing.output
    assert json.loads(run("stats", "--json").output)["articles"] == 3


def test_ingest_exit_status_reports_failures(run, sources):
    write(sources / "broken.json", "{")
    result = run("ingest", str(sources))
    assert result.exit_code == 1
    assert "failed: " in result.output and "broken.json: malformed JSON" in result.output
    assert "4 added" in result.output


def test_ingest_if_empty(run, sources, tmp_path):
    run("ingest", str(sources))
    other = write(tmp_path / "other.txt", "Other\n\nAnother article body.")
    result = run("ingest", "--if-empty", str(other))
    assert "already holds articles" in result.output
    assert json.loads(run("stats", "--json").output)["articles"] == 4


def test_digest_of_files(run, tmp_path):
    seed = write(tmp_path / "seed.txt", SEED_TEXT)
    result = run("digest", str(seed), "--sentences", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == "Coalition ministers meet in Brussels"
    assert len(data["sentences"]) == 2
    assert all(set(s) == {"text", "paragraph"} for s in data["sentences"])
    plain = run("digest", str(seed), "--algorithm", "lead", "--sentences", "1")
    assert plain.output.splitlines()[1].startswith("Defence chief Ashton Carter")


def test_digest_jsonl_matches_the_stored_digest(run, sources):
    run("ingest", str(sources))
    record = json.loads((sources / "briefs.jsonl").read_text("utf-8").splitlines()[0])
    lines = [json.dumps(record), "not json", json.dumps({"id": "t", "text": "Short one."})]
    result = run("digest", "--jsonl", "-", input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["id"] == "brief-1"
    stored = json.loads(run("search", "Brief number 1", "--json").output)["results"]
    stored_digest = next(r["digest"] for r in stored if r["id"] == "brief-1")
    assert out[0]["sentences"] == [s["text"] for s in stored_digest]
    assert out[1] == {"id": "t", "sentences": []}  # too short for a digest: empty, no error
    assert "line 2" in result.stderr


@pytest.mark.parametrize(
    "args",
    [("ingest",), ("search",), ("digest", "--sentences", "zero", "x.txt"),
     ("search", "x", "--limit", "0"), ("ingest", "x", "--workers", "0"), ("frobnicate",)],
)  # fmt: skip
def test_bad_arguments_exit_with_usage_error(run, args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Error" in result.output


@pytest.mark.parametrize("command", ["ingest", "search", "digest", "serve", "stats", "delete"])
def test_help_everywhere(run, command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "--help" in result.output


def test_reading_a_missing_archive_says_what_to_do(run):
    result = run("search", "anything")
    assert result.exit_code == 1
    assert "no archive at" in result.output and "precis ingest" in result.output
