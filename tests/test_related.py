"""Related articles (index/related.py): a real archive of three running stories
(tests/newsroom.py), the article page, the API and the command line."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from conftest import make_article
from servers import clean_env, precis

from index.ingest import store_articles
from index.related import RELATED, key_words, related
from webapp import archive_of


@pytest.fixture
def client(newsroom_client):
    return newsroom_client


def topic(article_id: str) -> str:
    return article_id.split("-")[0]


@pytest.mark.parametrize("article_id", ["ferry-1", "ferry-4", "flood-2", "cup-5"])
def test_related_articles_share_the_subject(newsroom_archive, article_id):
    found = related(newsroom_archive, article_id)
    assert 1 <= len(found) <= RELATED
    assert article_id not in {r.id for r in found}
    # Each topic has four other stories: the closest are of the same topic. (In an archive
    # this small a topic's own words are common, so a stray shared word can come close.)
    same = [topic(r.id) == topic(article_id) for r in found]
    assert all(same[:3]) and sum(same) >= 3
    assert all(r.short_digest for r in found)


def test_the_same_story_is_never_related_to_itself(newsroom_archive):
    assert [v.id for v in newsroom_archive.versions("ferry-1")] == ["ferry-1-copy"]
    for article_id, copy in (("ferry-1", "ferry-1-copy"), ("ferry-1-copy", "ferry-1")):
        ids = {r.id for r in related(newsroom_archive, article_id)}
        assert article_id not in ids and copy not in ids
    # From another article of the topic, the story shows once, by one of its versions.
    for article_id in ("ferry-2", "ferry-3", "ferry-4", "ferry-5"):
        ids = [r.id for r in related(newsroom_archive, article_id, limit=10)]
        assert len({"ferry-1", "ferry-1-copy"} & set(ids)) == 1, (article_id, ids)


def test_key_words_come_from_the_article_and_are_shared(newsroom_archive):
    stored = newsroom_archive.get("flood-1")
    words = key_words(newsroom_archive, stored)
    text = " ".join(stored.article.paragraphs).lower()
    assert words and all(word in text or word in stored.article.title.lower() for word in words)
    assert "river" in words or "flood" in words


def test_unknown_and_lone_articles(newsroom_archive):
    assert related(newsroom_archive, "no-such-article") is None
    lone = make_article("lone", "Zymurgy", ["Qwertyuiop asdfghjkl zxcvbnm mnbvcxz lkjhgf."])
    store_articles(newsroom_archive, [lone])
    assert related(newsroom_archive, "lone") == []


def test_article_page_lists_related_articles_and_their_links_work(client):
    html = client.get("/articles/flood-3").get_data(as_text=True)
    section = re.search(r'<aside class="related".*?</aside>', html, re.S).group(0)
    links = [unescape(link) for link in re.findall(r'<a href="([^"]+)"', section)]
    # The four other flood stories, and another topic's article only if it shares a word.
    assert 4 <= len(links) <= RELATED and "/articles/flood-3" not in links
    assert {link.split("/")[-1] for link in links[:4]} == {"flood-1", "flood-2", "flood-4",
                                                           "flood-5"}  # fmt: skip
    assert section.count('class="short-digest"') == len(links)
    for link in links:
        assert client.get(link).status_code == 200


def test_api_related(client):
    data = client.get("/api/articles/cup-2/related").get_json()
    # The other cup stories; no other article shares a key word of this one.
    assert data["article"] == "cup-2" and len(data["related"]) == 4
    first = data["related"][0]
    assert set(first) == {"id", "title", "date", "source", "category", "url", "short_digest",
                          "score"}  # fmt: skip
    assert topic(first["id"]) == "cup"
    assert len(client.get("/api/articles/cup-2/related?limit=2").get_json()["related"]) == 2
    assert client.get("/api/articles/cup-2/related?limit=0").status_code == 400
    assert client.get("/api/articles/cup-2/related?limit=x").status_code == 400
    missing = client.get("/api/articles/nothing/related")
    assert missing.status_code == 404 and "nothing" in missing.get_json()["error"]


def test_ids_with_slashes_and_hostile_values(client):
    archive = archive_of(client.application)
    hostile = make_article(
        "desk/<b>late</b>",
        "<script>alert(1)</script> Flood warning",
        [
            "The river flood reached the valley town and the environment agency warned "
            "residents of the lower river valley.",
            "Volunteers filled sandbags at the town hall as the flood water kept rising.",
        ],
        url="javascript:alert(1)",
    )
    store_articles(archive, [hostile])
    data = client.get("/api/articles/desk/%3Cb%3Elate%3C/b%3E/related").get_json()
    assert data["article"] == "desk/<b>late</b>" and topic(data["related"][0]["id"]) == "flood"
    html = client.get("/articles/flood-1").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Flood warning" in html
    assert "<script>alert" not in html and "javascript:" not in html
    assert "/articles/desk%2F%3Cb%3Elate%3C%2Fb%3E" in html


def test_precis_related_on_the_command_line(newsroom_archive, index_dir, tmp_path):
    newsroom_archive.close()
    env = clean_env(tmp_path)
    done = precis("related", "cup-1", "--index", str(index_dir), env=env)
    assert done.returncode == 0, done.stderr
    assert "[cup-2]" in done.stdout or "[cup-3]" in done.stdout
    done = precis("related", "cup-1", "--json", "--limit", "3", "--index", str(index_dir), env=env)
    data = json.loads(done.stdout)
    assert len(data["related"]) == 3 and all(topic(r["id"]) == "cup" for r in data["related"])
    done = precis("related", "nothing", "--index", str(index_dir), env=env)
    assert done.returncode == 1 and "no article with id 'nothing'" in done.stderr
