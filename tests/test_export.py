"""Export of search results: every match, not just a page, as CSV and as JSON Lines, from
the archive (`every_match`), the API (`/api/search?format=...`) and the CLI
(`precis search --format ...`), on a real Whoosh archive in a temporary folder.

The Typesense backend's `every_match` is checked against its own pages in
test_contract.py; the download link in a real browser in test_browser.py.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, replace

import pytest
from click.testing import CliRunner
from conftest import make_article
from servers import clean_env, precis, serving
from test_versions import TRIAL_OPENS, copy

from index.export import EXPORT_COLUMNS, filename, neutralised, to_csv, to_jsonl
from index.ingest import delete_article, store_articles
from index.models import SearchRequest
from index.whoosh_backend import WhooshArchive
from index.whoosh_backend import search as whoosh_search
from webapp import archive_of, create_app
from webapp.cli import main
from webapp.security import SECURITY_HEADERS

SOURCES = ("Harbour Gazette", "Valley Courier", "Wire")
FLEET = 60  # more matches than several pages hold
INFORMATIVE = ("digest", "short_digest", "story", "ingested_at")


def fleet_article(n: int):
    """One of FLEET ferry articles, each a story of its own, scored differently."""
    return make_article(
        f"ferry-{n:02}",
        f"Ferry news {n}",
        [
            f"Ferry report number {n}: " + " ".join(f"word{n * 10 + i}" for i in range(12)),
            "The ferry " * (n % 5) + f"crossing {n} left the quay late on a windy morning.",
        ],
        date=f"{2015 + n % 4}-{n % 12 + 1:02}-{n % 28 + 1:02}",
        source=SOURCES[n % 3],
        category=("local", "business")[n % 2],
        author=f"Reporter {n % 4}",
        url=f"https://example.org/ferry/{n}",
    )


FLEET_ARTICLES = [fleet_article(n) for n in range(FLEET)]
# A story told twice (a wire copy): one result when grouping, two without.
STORY = [TRIAL_OPENS, copy(TRIAL_OPENS, "trial-wire", source="Wire", date="2022-05-03")]


@pytest.fixture
def fleet(archive: WhooshArchive) -> WhooshArchive:
    store_articles(archive, [*FLEET_ARTICLES, *STORY])
    return archive


def paged(archive, request: SearchRequest) -> list:
    """The results of every page of `request`, in order, without those filling the last
    page (they are not counted in the total)."""
    first = archive.search(request)
    return [
        result
        for number in range(1, first.pages + 1)
        for result in archive.search(replace(request, page=number)).results
        if not result.missing
    ]


def hit_texts(result) -> set[tuple[int, str, tuple]]:
    return {(h.paragraph, h.marked.text, tuple(map(tuple, h.marked.marks))) for h in result.hits}


# --- every match, from the archive ---------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(query="ferry", per_page=7),
        SearchRequest(query="ferry", per_page=7, group=False),
        SearchRequest(query="ferry", per_page=7, sort="date"),
        SearchRequest(query="ferry", per_page=7, sort="date", group=False),
        SearchRequest(query="ferry", per_page=7, source="Wire"),
        SearchRequest(query="ferry", per_page=7, category="local", date_from="2016-01-01"),
        SearchRequest(query="ferry", per_page=7, author="Reporter 2", sort="date"),
        SearchRequest(query='"windy morning"', per_page=7),
        SearchRequest(query="ferry -quay", per_page=7, group=False),
        SearchRequest(per_page=7),
        SearchRequest(per_page=7, source="Valley Courier", group=False),
    ],
    ids=repr,
)
def test_every_match_is_the_pages_one_after_the_other(fleet, request_):
    pages = paged(fleet, request_)
    matches = list(fleet.every_match(request_))
    assert len(matches) == fleet.search(request_).total
    assert [r.id for r, _ in matches] == [r.id for r in pages]
    assert [r.score for r, _ in matches] == [r.score for r in pages]
    for (result, stored), shown in zip(matches, pages, strict=True):
        assert stored.id == result.id
        assert hit_texts(result) == hit_texts(shown)  # the same hits (best first here)
        assert [s.text for s in result.digest] == [s.text for s in shown.digest]


def test_every_match_honours_filters_grouping_and_the_date_order(fleet):
    every = [r for r, _ in fleet.every_match(SearchRequest(query="ferry", group=False))]
    assert len(every) == FLEET + 2 and {"trial-1", "trial-wire"} <= {r.id for r in every}
    grouped = [r.id for r, _ in fleet.every_match(SearchRequest(query="ferry"))]
    assert len(grouped) == FLEET + 1 and len({"trial-1", "trial-wire"} & set(grouped)) == 1
    wire = [r for r, _ in fleet.every_match(SearchRequest(query="ferry", source="Wire"))]
    assert wire and {r.source for r in wire} == {"Wire"}
    newest = [r.date for r, _ in fleet.every_match(SearchRequest(query="ferry", sort="date"))]
    assert newest == sorted(newest, reverse=True)
    best = [r.score for r, _ in fleet.every_match(SearchRequest(query="quay", group=False))]
    assert best == sorted(best, reverse=True) and best[0] > best[-1]
    assert list(fleet.every_match(SearchRequest(query="zzqxj"))) == []
    assert list(fleet.every_match(SearchRequest(query="NOT"))) == []


def test_a_query_of_several_words_agrees_with_the_first_page(fleet):
    """The proximity bonus is reckoned as for the first page (see `every_match`): that
    page is the export's start, whole; the rest holds the other pages' articles."""
    request = SearchRequest(query="ferry quay windy", per_page=10, group=False)
    first = fleet.search(request)
    matches = [r for r, _ in fleet.every_match(request)]
    assert len(matches) == first.total > first.per_page
    assert [(r.id, r.score) for r in matches[:10]] == [(r.id, r.score) for r in first.results]
    assert {r.id for r in matches} == {r.id for r in paged(fleet, request)}


def test_hits_come_best_first(archive):
    article = make_article(
        "best",
        "Council notes",
        [
            "The council met on Monday about the ferry.",
            "Parking charges rise in the spring, the council said.",
            "The ferry timetable, the ferry fares and the ferry crew: ferry, ferry, ferry.",
        ],
    )
    store_articles(archive, [article])
    page = archive.search(SearchRequest(query="ferry"))
    assert [hit.paragraph for hit in page.results[0].hits] == [0, 2]  # paragraph order
    ((result, _),) = archive.every_match(SearchRequest(query="ferry"))
    assert [hit.paragraph for hit in result.hits] == [2, 0]
    text = "".join(to_csv(archive.every_match(SearchRequest(query="ferry"))))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["best_hit"] == article.paragraphs[2]


def test_every_match_reads_one_snapshot_and_lets_it_go(fleet, monkeypatch):
    monkeypatch.setattr(whoosh_search, "EXPORT_BATCH", 5)  # records read in many batches
    request = SearchRequest(query="ferry", group=False, sort="date")
    expected = [r.id for r, _ in fleet.every_match(request)]
    matches = fleet.every_match(request)
    seen = [next(matches)[0].id]
    assert delete_article(fleet, expected[-1])  # written while the export runs
    seen += [result.id for result, _ in matches]
    assert seen == expected  # the export's view is the one it started with
    assert fleet.search(replace(request, per_page=100)).total == len(expected) - 1
    # Stopped early and closed: the thread's next read sees the newest generation.
    matches = fleet.every_match(request)
    next(matches)
    matches.close()
    assert delete_article(fleet, expected[0])
    assert fleet.search(replace(request, per_page=100)).total == len(expected) - 2


# --- the formats ---------------------------------------------------------------------------


HOSTILE = make_article(
    "=cmd|' /C calc'!A0",
    '-2+3 "quoted", with commas <script>alert(1)</script>',
    [
        "@SUM(1+1) the ferry sailed, \"they said\", at dawn; <b>bold</b> & more.",
        "=HYPERLINK(\"http://evil.example\") and a ferry\ttab.",
    ],
    source="+Gazette, Ltd.",
    category="=1+1",
    author='Ann "Nan" O\'Brien',
    url="javascript:alert(1)",
    date="2016-02-11",
)


def test_csv_has_the_columns_and_every_value_as_plain_text(fleet):
    text = "".join(to_csv(fleet.every_match(SearchRequest(query="ferry", group=False))))
    assert text.startswith(",".join(EXPORT_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == FLEET + 2
    by_id = {row["id"]: row for row in rows}
    first = by_id["ferry-04"]
    article = FLEET_ARTICLES[4]
    assert first["title"] == article.title and first["date"] == article.date
    assert (first["source"], first["category"], first["author"]) == (
        article.source, article.category, article.author,
    )  # fmt: skip
    assert first["url"] == "https://example.org/ferry/4"
    assert first["best_hit"] in article.paragraphs and "<mark>" not in text
    stored = fleet.get("ferry-04")
    assert first["digest"] == stored.digest.text
    assert float(first["score"]) > 0


def test_hostile_values_are_neutralised_and_survive_a_csv_reader(archive):
    store_articles(archive, [HOSTILE, FLEET_ARTICLES[1]])
    text = "".join(to_csv(archive.every_match(SearchRequest(query="ferry", group=False))))
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    row = rows["'=cmd|' /C calc'!A0"]  # the id too: a formula is text once neutralised
    assert row["title"] == "'" + HOSTILE.title  # "-2+3": a spreadsheet would compute it
    assert row["source"] == "'+Gazette, Ltd." and row["category"] == "'=1+1"
    assert row["author"] == HOSTILE.author  # quotes survive the round trip
    assert row["url"] == ""  # never a javascript: address
    assert row["best_hit"] in {"'" + p for p in HOSTILE.paragraphs}
    assert "<script>" in row["title"]  # plain text, as written: a spreadsheet shows it
    for value in (v for r in rows.values() for k, v in r.items() if k != "score"):
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert neutralised("ferry") == "ferry" and neutralised("") == ""


def test_jsonl_lines_are_public_records_with_the_hit_and_score(fleet):
    lines = list(to_jsonl(fleet.every_match(SearchRequest(query="ferry", sort="date"))))
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    records = [json.loads(line) for line in lines]
    assert len(records) == FLEET + 1
    first = records[0]
    assert first == fleet.get(first["id"]).public_record() | {
        "best_hit": first["best_hit"],
        "score": first["score"],
    }
    assert first["best_hit"] in first["paragraphs"] and first["score"] > 0


def test_file_names_are_plain():
    assert filename("Harbour ferry", "csv") == "precis-harbour-ferry.csv"
    assert filename('"Café" <x> ../..', "jsonl") == "precis-cafe-x.jsonl"
    assert filename("", "csv") == "precis-latest.csv"
    assert filename("x" * 300, "csv") == "precis-" + "x" * 60 + ".csv"


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def app(index_dir):
    app = create_app({"INDEX": str(index_dir), "TESTING": True, "SECRET_KEY": "x" * 32})
    store_articles(archive_of(app), [*FLEET_ARTICLES, *STORY, HOSTILE])
    yield app
    archive_of(app).close()


@pytest.fixture
def client(app):
    return app.test_client()


def test_the_api_streams_every_match_as_a_download(client, app):
    response = client.get("/api/search?q=ferry&format=csv&source=Wire&sort=date")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="precis-ferry.csv"'
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    request = SearchRequest(query="ferry", source="Wire", sort="date")
    expected = [r.id for r in paged(archive_of(app), request)]
    assert [row["id"] for row in rows] == expected and len(expected) > 10
    assert {row["source"] for row in rows} == {"Wire"}

    lines = client.get("/api/search?q=ferry&format=jsonl")
    assert lines.is_streamed and lines.mimetype == "application/x-ndjson"
    assert lines.headers["Content-Disposition"] == 'attachment; filename="precis-ferry.jsonl"'
    records = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    assert len(records) == client.get("/api/search?q=ferry").get_json()["total"] > 10


def test_an_abandoned_download_lets_the_snapshot_go(client, app):
    before = client.get("/api/search?q=ferry").get_json()["total"]
    response = client.get("/api/search?q=ferry&format=jsonl", buffered=False)
    assert json.loads(next(iter(response.response)))["id"]  # a first line, then gone
    response.close()
    assert delete_article(archive_of(app), "ferry-00")
    assert client.get("/api/search?q=ferry").get_json()["total"] == before - 1


def test_a_real_server_streams_the_download(tmp_path):
    """`precis serve` (waitress, one thread): the export arrives whole, in chunks, and the
    thread's next search sees an article ingested after it."""
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(asdict(a)) + "\n" for a in FLEET_ARTICLES), "utf-8")
    env = clean_env(tmp_path, threads="1")
    index = tmp_path / "index"
    assert precis("ingest", str(source), "--index", str(index), env=env).returncode == 0
    with serving(index, env, processes=1) as server:
        response = server.get("/api/search?q=ferry&format=csv&sort=date")
        assert response.status == 200 and response.headers["Transfer-Encoding"] == "chunked"
        rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
        assert len(rows) == FLEET and rows[0]["date"] == max(a.date for a in FLEET_ARTICLES)
        late = tmp_path / "late.jsonl"
        late.write_text(json.dumps(asdict(fleet_article(FLEET))) + "\n", "utf-8")
        assert precis("ingest", str(late), "--index", str(index), env=env).returncode == 0
        assert server.get("/api/search?q=ferry").json()["total"] == FLEET + 1


def test_the_api_answers_a_bad_format_or_parameter_with_400(client):
    for query in ("q=ferry&format=xml", "q=ferry&format=csv&per_page=0", "format=csv&from=2016"):
        response = client.get(f"/api/search?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]
    assert "csv, jsonl" in client.get("/api/search?format=xls").get_json()["error"]
    page = client.get("/api/search?q=ferry&format=json").get_json()
    assert page == client.get("/api/search?q=ferry").get_json() and len(page["results"]) == 10


def test_the_results_page_links_to_the_download(client):
    html = client.get("/search?q=ferry&source=Wire&sort=date&page=2").get_data(as_text=True)
    assert 'class="download"' in html
    assert 'href="/api/search?q=ferry&amp;sort=date&amp;source=Wire&amp;format=csv"' in html
    assert 'href="/api/search?q=ferry&amp;sort=date&amp;source=Wire&amp;format=jsonl"' in html
    html = client.get('/search?q="<script>"+ferry').get_data(as_text=True)
    assert "q=%22%3Cscript%3E%22+ferry&amp;format=csv" in html and "<script>\"" not in html
    assert 'class="download"' not in client.get("/search?q=zzqxj").get_data(as_text=True)
    landing = client.get("/").get_data(as_text=True)
    assert 'href="/api/search?format=csv"' in landing  # every article, newest first


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def run(index_dir, tmp_path):
    runner = CliRunner()
    env = {"PRECIS_INDEX": str(index_dir), "PRECIS_CONFIG": str(tmp_path / "none.toml")}

    def invoke(*args: str):
        return runner.invoke(main, [*args], env=env)

    return invoke


def test_the_cli_prints_every_match(fleet, run):
    text = run("search", "ferry", "--format", "csv")
    assert text.exit_code == 0, text.output
    rows = list(csv.DictReader(io.StringIO(text.output, newline="")))
    assert [row["id"] for row in rows] == [r.id for r in paged(fleet, SearchRequest("ferry"))]
    lines = run("search", "ferry", "--format", "jsonl", "--limit", "3")  # --limit: a page
    assert lines.exit_code == 0 and len(lines.output.splitlines()) == FLEET + 1
    as_json = json.loads(run("search", "ferry", "--format", "json", "--limit", "3").output)
    assert as_json == json.loads(run("search", "ferry", "--json", "--limit", "3").output)
    assert len(as_json["results"]) == 3 and as_json["total"] == FLEET + 1
    bad = run("search", "ferry", "--format", "xml")
    assert bad.exit_code == 2 and "xml" in bad.output


def test_jsonl_export_ingests_again_unchanged(tmp_path, run, index_dir):
    # The archive is made by ingest too: records are cleaned on the way in (a tab becomes
    # a space), and an export of what was ingested is ingested as it is.
    source = tmp_path / "articles.jsonl"
    articles = [*FLEET_ARTICLES, *STORY, HOSTILE]
    source.write_text("".join(json.dumps(asdict(a)) + "\n" for a in articles), "utf-8")
    assert run("ingest", str(source), "--no-progress").exit_code == 0
    exported = run("search", "ferry", "--format", "jsonl")
    assert exported.exit_code == 0, exported.output
    path = tmp_path / "ferry.jsonl"
    path.write_text(exported.output, "utf-8")
    fresh = tmp_path / "fresh"
    ingested = run("ingest", str(path), "--index", str(fresh), "--no-progress")
    assert ingested.exit_code == 0, ingested.output
    records = [json.loads(line) for line in exported.output.splitlines()]
    again = WhooshArchive(fresh)
    assert again.stats().articles == len(records) == FLEET + 2  # one of the story, and HOSTILE
    for record in records:
        public = again.get(record["id"]).public_record()
        for name in INFORMATIVE:
            public.pop(name)
        extra = (*INFORMATIVE, "best_hit", "score")
        assert public == {name: value for name, value in record.items() if name not in extra}
    again.close()
