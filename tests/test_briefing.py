"""Briefings across the results of a search (index/briefing.py): a real archive of three
running stories (tests/newsroom.py), the real app and the real command line."""

from __future__ import annotations

import json
import re
from html import unescape
from itertools import combinations

import pytest
from conftest import make_article
from newsroom import newsroom
from servers import clean_env, precis

from index.briefing import MAX_SENTENCES, MIN_SENTENCES, REDUNDANCY, brief, likeness
from index.ingest import store_articles
from index.models import SearchRequest
from index.terms import distinct_terms
from webapp import archive_of


@pytest.fixture
def client(newsroom_client):
    return newsroom_client


def test_a_briefing_draws_on_several_articles_and_traces_every_sentence(newsroom_archive):
    found = brief(newsroom_archive, SearchRequest(query="ferry strike"))
    assert MIN_SENTENCES <= len(found.sentences) <= MAX_SENTENCES
    assert len({s.article_id for s in found.sentences}) >= 3
    matching = {r.id for r in newsroom_archive.search(SearchRequest("ferry strike")).results}
    for sentence in found.sentences:
        assert sentence.article_id in matching
        stored = newsroom_archive.get(sentence.article_id)
        assert sentence.text in stored.article.paragraphs[sentence.paragraph]
        source = found.sources[sentence.source]
        assert source.id == sentence.article_id and source.title == stored.article.headline
    # The query's words are marked where they stand.
    marked = [s.text[a:b].lower() for s in found.sentences for a, b in s.marked.marks]
    assert marked and set(marked) <= {"ferry", "strike", "striking"}


def test_no_two_sentences_say_the_same_thing(newsroom_archive):
    # The bank's sentences recur across the ferry articles: a copy is never taken twice.
    for query in ("ferry", "flood river", "cup semi-final", "harbour"):
        found = brief(newsroom_archive, SearchRequest(query=query))
        texts = [s.text for s in found.sentences]
        assert len(set(texts)) == len(texts)
        for first, second in combinations(texts, 2):
            assert (
                likeness(frozenset(distinct_terms(first)), frozenset(distinct_terms(second)))
                <= REDUNDANCY
            )


def test_sentences_are_in_date_order(newsroom_archive):
    found = brief(newsroom_archive, SearchRequest(query="flood"))
    dates = [newsroom_archive.get(s.article_id).article.date for s in found.sentences]
    assert dates == sorted(dates) and len(set(dates)) >= 3


def test_filters_narrow_the_articles_a_briefing_reads(newsroom_archive):
    found = brief(newsroom_archive, SearchRequest(query="", category="sport"))
    assert found.sentences
    assert {newsroom_archive.get(s.article_id).article.category for s in found.sentences} == {
        "sport"
    }
    dated = brief(newsroom_archive, SearchRequest(query="ferry", date_from="2025-03-12"))
    assert all(s.article_id in {"ferry-3", "ferry-4", "ferry-5"} for s in dated.sentences)


def test_nothing_to_brief_is_said(newsroom_archive):
    found = brief(newsroom_archive, SearchRequest(query="volcano"))
    assert found.sentences == [] and found.total == 0
    assert "nothing to brief" in found.message


def test_one_article_gives_a_briefing_of_its_own_sentences(archive):
    store_articles(archive, [newsroom()[0]])
    found = brief(archive, SearchRequest(query="ferry"))
    assert found.sentences and {s.article_id for s in found.sentences} == {"ferry-1"}
    assert len(found.sentences) <= 2  # MAX_PER_ARTICLE


def test_api_briefing_and_its_links_resolve_to_the_paragraphs(client):
    data = client.get("/api/briefing?q=ferry+strike").get_json()
    assert data["query"] == "ferry strike" and len(data["sentences"]) >= MIN_SENTENCES
    assert data["text"] == " ".join(s["text"] for s in data["sentences"])
    assert {s["source"] for s in data["sentences"]} == set(range(len(data["sources"])))
    response = client.get("/briefing?q=ferry+strike", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert 'id="briefing"' in html and "<html" not in html
    links = re.findall(r'<a class="cite" href="([^"]+)"', html)
    assert len(links) == len(data["sentences"])
    for link, sentence in zip(links, data["sentences"], strict=True):
        path, anchor = unescape(link).split("#")
        assert anchor == f"p-{sentence['paragraph'] + 1}"
        page = client.get(path).get_data(as_text=True)
        paragraph = re.search(rf'<p id="{anchor}">(.*?)</p>', page, re.S).group(1)
        assert sentence["text"] in re.sub(r"</?mark>", "", unescape(paragraph))


def test_api_briefing_takes_the_search_filters_and_rejects_bad_ones(client):
    data = client.get("/api/briefing?q=&category=weather").get_json()
    assert data["sentences"] and all(s["article"].startswith("flood") for s in data["sentences"])
    response = client.get("/api/briefing?q=ferry&from=yesterday")
    assert response.status_code == 400 and "from" in response.get_json()["error"]


def test_results_page_offers_brief_me_and_the_page_without_javascript(client):
    html = client.get("/search?q=ferry&source=Gazette").get_data(as_text=True)
    link = re.search(r'<a class="brief-me" href="([^"]+)" hx-get="([^"]+)"', html)
    assert link and unescape(link.group(1)) == "/briefing?q=ferry&source=Gazette"
    assert link.group(1) == link.group(2)
    page = client.get(unescape(link.group(1)))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1" in text and "Briefing: “ferry”" in text
    assert "<html" in text and 'class="cite"' in text
    partial = client.get(unescape(link.group(1)), headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)
    assert "<h2" in partial.get_data(as_text=True)
    assert "Brief me" not in client.get("/search?q=volcano").get_data(as_text=True)


def test_hostile_values_are_escaped_in_a_briefing(client, index_dir):
    archive = archive_of(client.application)
    hostile = make_article(
        "hostile",
        "<script>alert(1)</script> Ferry",
        [
            "The ferry <img src=x onerror=alert(1)> strike closed the harbour quay on Friday.",
            "Harbour ferry passengers were sent home when the strike began early on Friday.",
        ],
        url="javascript:alert(1)",
    )
    store_articles(archive, [hostile])
    html = client.get("/briefing?q=ferry+strike+friday").get_data(as_text=True)
    assert "hostile" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "javascript:" not in html
    data = client.get("/api/briefing?q=ferry+strike+friday").get_json()
    assert all(not s["url"] for s in data["sources"] if s["id"] == "hostile")


def test_precis_brief_on_the_command_line(newsroom_archive, index_dir, tmp_path):
    newsroom_archive.close()
    env = clean_env(tmp_path)
    done = precis("brief", "flood", "--index", str(index_dir), env=env)
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout and "matching articles" in done.stdout
    done = precis("brief", "flood", "--json", "--index", str(index_dir), env=env)
    data = json.loads(done.stdout)
    assert len({s["article"] for s in data["sentences"]}) >= 3
    done = precis("brief", "volcano", "--index", str(index_dir), env=env)
    assert done.returncode == 1 and "nothing to brief" in done.stderr
    done = precis("brief", "flood", "--from", "soon", "--index", str(index_dir), env=env)
    assert done.returncode == 2 and "from must be a date" in done.stderr
