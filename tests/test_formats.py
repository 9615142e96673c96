"""Each input format, the seed's layout, normalisation and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEED_TEXT, write

from index.articles import ArticleError, normalise, parse_date
from index.digest import summarize
from index.formats import read_path


def only_article(path: Path):
    parsed = read_path(path)
    assert parsed.problems == []
    assert len(parsed.articles) == 1
    return parsed.articles[0]


def test_seed_layout_is_parsed_into_its_parts(tmp_path):
    article = only_article(write(tmp_path / "seed.txt", SEED_TEXT))
    assert article.title == "Coalition ministers meet in Brussels"
    assert article.standfirst.startswith("Defence ministers will gather")
    assert article.date == "2016-02-11"
    assert article.reading_time == "3 min read"
    assert article.captions == ['Some partners have "done nothing at all" said the chief [Getty]']
    assert article.paragraphs[0].startswith("Defence chief Ashton Carter")
    assert len(article.paragraphs) == 4
    body = " ".join(article.paragraphs)
    assert "min read" not in body and "[Getty]" not in body
    assert article.title not in article.paragraphs


def test_seed_file_shipped_in_samples_parses():
    seed = Path(__file__).parent.parent / "samples" / "000_b192e6a6c486ef08.txt"
    article = only_article(seed)
    assert article.date == "2016-02-11"
    assert article.title.startswith("Pentagon chief seeks greater support")
    assert article.captions and article.captions[0].endswith("[Getty]")
    assert all("[Getty]" not in p and p != "3 min read" for p in article.paragraphs)
    # The non-breaking space in the original is normalised to a plain space.
    assert all("\u00a0" not in p for p in article.paragraphs)
    digest = summarize(article)
    assert digest.sentences
    assert "Getty" not in digest.text and "min read" not in digest.text
    assert article.title not in [s.text for s in digest.sentences]


def test_plain_text_without_header(tmp_path):
    text = "A title line\n\nFirst paragraph of the body,\nwrapped over two lines.\n\nSecond one."
    article = only_article(write(tmp_path / "plain.txt", text))
    assert article.title == "A title line"
    assert article.paragraphs == [
        "First paragraph of the body, wrapped over two lines.",
        "Second one.",
    ]
    assert article.date == ""


def test_markdown_with_front_matter(tmp_path):
    text = (
        "---\ntitle: Ferry news\ndate: 2025-03-14\nsource: Harbour Post\ncategory: local\n---\n"
        "# Ignored because front matter has a title\n\n"
        "The **council** voted for an [electric](http://x) ferry.\n\n## A sub-heading\n\n"
        "- a list item that is a paragraph too\n\n```\ncode is skipped\n```\n"
    )
    article = only_article(write(tmp_path / "ferry.md", text))
    assert article.title == "Ferry news"
    assert article.date == "2025-03-14"
    assert article.source == "Harbour Post" and article.category == "local"
    assert article.paragraphs == [
        "The council voted for an electric ferry.",
        "a list item that is a paragraph too",
    ]


def test_markdown_heading_and_date_line(tmp_path):
    text = "# The headline\n\n2 March 2024\n\nBody paragraph one.\n\nPhoto of a ferry [AFP]\n"
    article = only_article(write(tmp_path / "news.markdown", text))
    assert article.title == "The headline"
    assert article.date == "2024-03-02"
    assert article.paragraphs == ["Body paragraph one."]
    assert article.captions == ["Photo of a ferry [AFP]"]


def test_html_main_text_without_boilerplate(tmp_path):
    html = """<!doctype html><html><head><title>Library goes online</title>
    <meta name="date" content="2025-06-02"></head><body>
    <nav><a href="/">Home</a> | <a href="/sport">Sport section link</a></nav>
    <article><h1>Library goes online</h1>
    <p>Volunteers at the town library have scanned every surviving issue of the weekly
    newspaper, which was published from 1898 until it closed in 1999.</p>
    <p>The archive holds about forty thousand pages, and each page has been run through
    text recognition so that readers can search it for names and streets.</p>
    <p>The head librarian said the project began when a flood threatened the bound volumes
    kept in the basement of the old building.</p></article>
    <footer>Copyright footer text</footer><script>var tracking = "secret";</script>
    </body></html>"""
    article = only_article(write(tmp_path / "library.html", html))
    assert article.title == "Library goes online"
    assert article.date == "2025-06-02"
    body = " ".join(article.paragraphs)
    assert "Volunteers at the town library" in body
    assert "tracking" not in body and "Sport section link" not in body
    assert "Copyright footer" not in body
    assert article.paragraphs[0] != "Library goes online"


def test_json_object_list_and_wrapper(tmp_path):
    record = {"id": 7, "title": "T", "text": "One.\n\nTwo.", "date": "March 3, 2021"}
    single = only_article(write(tmp_path / "one.json", json.dumps(record)))
    assert (single.id, single.paragraphs, single.date) == ("7", ["One.", "Two."], "2021-03-03")
    listed = read_path(write(tmp_path / "list.json", json.dumps([record, {**record, "id": 8}])))
    assert [a.id for a in listed.articles] == ["7", "8"]
    wrapped = read_path(write(tmp_path / "wrap.json", json.dumps({"articles": [record]})))
    assert [a.id for a in wrapped.articles] == ["7"]


def test_json_records_with_problems_are_reported_one_by_one(tmp_path):
    records = [
        {"id": "good", "title": "Good", "paragraphs": ["Body."]},
        {"id": "nobody", "title": "No body"},
        {"id": "badlist", "paragraphs": [1, 2]},
        "not an object",
    ]
    parsed = read_path(write(tmp_path / "mixed.json", json.dumps(records)))
    assert [a.id for a in parsed.articles] == ["good"]
    assert [p.where.rsplit("#", 1)[1] for p in parsed.problems] == ["2", "3", "4"]
    assert "no body" in parsed.problems[0].reason


def test_jsonl_malformed_line_is_reported_and_the_rest_read(tmp_path):
    lines = [
        json.dumps({"id": "x1", "title": "One", "body": "Text one."}),
        '{"id": "x2", "title": "broken',
        json.dumps({"id": "x3", "title": "Three", "content": "Text three."}),
    ]
    parsed = read_path(write(tmp_path / "feed.jsonl", "\n".join(lines)))
    assert [a.id for a in parsed.articles] == ["x1", "x3"]
    assert len(parsed.problems) == 1
    assert parsed.problems[0].where.endswith("feed.jsonl:2")
    assert "malformed JSON" in parsed.problems[0].reason


def test_csv_rows_become_articles(tmp_path):
    content = (
        "id,title,date,source,category,article\n"
        'c1,Rovers win,2025-04-27,Valley Post,sport,"Rovers won the semi-final.\n\nThe final is '
        'in May."\nc2,Comet found,2025-01-09,Valley Post,science,Pupils found a comet.\n'
    )
    parsed = read_path(write(tmp_path / "news.csv", content))
    assert [a.id for a in parsed.articles] == ["c1", "c2"]
    assert parsed.articles[0].paragraphs == ["Rovers won the semi-final.", "The final is in May."]
    assert parsed.articles[1].category == "science"


def test_csv_without_body_column_is_refused(tmp_path):
    with pytest.raises(ArticleError, match="body column"):
        read_path(write(tmp_path / "bad.csv", "id,title\n1,Only a title\n"))


def test_derived_ids_are_stable_and_distinct(tmp_path):
    lines = "\n".join(json.dumps({"title": f"T{n}", "text": "Body."}) for n in range(3))
    path = write(tmp_path / "noids.jsonl", lines)
    first = [a.id for a in read_path(path).articles]
    assert first == [a.id for a in read_path(path).articles]
    assert len(set(first)) == 3
    with_url = {"title": "T", "text": "Body.", "url": "https://example.org/news/ferry-story"}
    article = only_article(write(tmp_path / "url.json", json.dumps(with_url)))
    assert article.id.startswith("ferry-story-")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", "", "empty"),
        ("blank.md", "\n \n", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.txt", "Caf\xe9 news\n\nBody".encode("latin-1"), "not UTF-8"),
        ("broken.json", '{"title": ', "malformed JSON"),
        ("image.png", b"\x89PNG", "unsupported file type"),
        ("list.json", "[]", "no records"),
    ],
)
def test_bad_files_raise_a_clear_reason(tmp_path, name, content, reason):
    with pytest.raises(ArticleError, match=reason):
        read_path(write(tmp_path / name, content))


def test_utf16_with_bom_is_read(tmp_path):
    path = write(tmp_path / "utf16.txt", "Title\n\nBody text here.".encode("utf-16"))
    assert only_article(path).paragraphs == ["Body text here."]


def test_normalise_fixes_spaces_and_keeps_curly_quotes():
    text = "Cafe\u0301\u00a0\u201cquoted\u201d\u200b text\u2003here\r\nnext\x07"
    assert normalise(text) == "Caf\u00e9 \u201cquoted\u201d text here\nnext"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11 February, 2016", "2016-02-11"),
        ("2016-02-11", "2016-02-11"),
        ("Feb 3 2020", "2020-02-03"),
        ("2021-07-01T10:00:00Z", "2021-07-01"),
        ("yesterday", ""),
        ("3 min read", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected
