"""Adding articles from the browser form and the API: token, CSRF, limits, reports."""

from __future__ import annotations

import io
import json
import re

import pytest
from werkzeug.test import EnvironBuilder

from webapp import create_app

TOKEN = "s3cret-token"


@pytest.fixture
def app(index_dir):
    return create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client) -> str:
    html = client.get("/add").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post_add(client, token=TOKEN, **fields):
    data = {"csrf_token": csrf(client), "token": token, **fields}
    builder = EnvironBuilder(path="/add", method="POST", data=data)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:  # the test client spools big uploads to a temporary file: close it
        environ["wsgi.input"].close()
        builder.close()


def test_upload_files_and_paste_then_search(client):
    feed = "\n".join(
        [json.dumps({"id": "w1", "title": "Wind farm", "text": "A wind farm opens offshore."}),
         "{broken json", json.dumps({"id": "w2", "title": "Tide", "text": "Tidal power grows."})]
    )  # fmt: skip
    response = post_add(
        client,
        files=[
            (io.BytesIO(b"Ferry news\n\nThe harbour ferry runs on batteries now."), "ferry.txt"),
            (io.BytesIO(feed.encode()), "feed.jsonl"),
            (io.BytesIO(b"\x00\x01binary"), "photo.txt"),
            (io.BytesIO(b"PK"), "report.docx"),
        ],
        text="Library opening\n\nThe new library opened its doors on Monday.",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = re.findall(r'<tr class="(\w+)"><td>([^<]*)</td>', html)
    assert [status for status, _ in rows].count("added") == 4
    failed = {name for status, name in rows if status == "failed"}
    assert failed == {"feed.jsonl:2", "photo.txt", "report.docx"}
    assert "binary" in html and "malformed JSON" in html
    assert client.get("/api/search?q=batteries").get_json()["total"] == 1
    assert client.get("/api/search?q=library").get_json()["total"] == 1
    again = post_add(client, files=[(io.BytesIO(b"Ferry news\n\nChanged text."), "ferry.txt")])
    assert '<tr class="updated">' in again.get_data(as_text=True)


def test_wrong_token_missing_csrf_and_switched_off(client, index_dir):
    refused = post_add(client, token="guess", text="Title\n\nBody text.")
    assert refused.status_code == 403 and "write token is not right" in refused.get_data(True)
    no_csrf = client.post("/add", data={"token": TOKEN, "text": "T\n\nBody."})
    assert no_csrf.status_code == 400 and "expired" in no_csrf.get_data(as_text=True)
    assert client.get("/api/search?q=body").get_json()["total"] == 0
    closed = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": "", "TESTING": True})
    page = closed.test_client().get("/add").get_data(as_text=True)
    assert "switched off" in page and 'id="add-form"' not in page
    read_only = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "READ_ONLY": True})
    assert read_only.test_client().post("/add", data={}).status_code == 403


def test_the_session_remembers_the_token(client):
    assert post_add(client, text="First\n\nOne body.").status_code == 200
    html = client.get("/add").get_data(as_text=True)
    assert 'name="token"' not in html
    second = post_add(client, token="", text="Second\n\nAnother body.")
    assert second.status_code == 200 and '<tr class="added">' in second.get_data(True)


def test_upload_limit_gives_a_friendly_413(index_dir):
    app = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "MAX_UPLOAD_MB": 1})
    client = app.test_client()
    big = io.BytesIO(b"Title\n\n" + b"word " * 300_000)
    response = post_add(client, files=[(big, "big.txt")])
    assert response.status_code == 413
    assert "larger than 1 MB" in response.get_data(as_text=True)


def test_api_writes_need_the_bearer_token(client):
    record = {"id": "api-1", "title": "Council", "text": "The council met about the ferry."}
    assert client.post("/api/articles", json=record).status_code == 401
    wrong = client.post("/api/articles", json=record, headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    added = client.post("/api/articles", json=[record], headers=auth)
    assert added.status_code == 200
    assert added.get_json()["results"][0]["status"] == "added"
    assert client.get("/api/articles/api-1").get_json()["title"] == "Council"
    bad = client.post("/api/articles", data="{not json", headers=auth)
    assert bad.status_code == 422 and "malformed JSON" in bad.get_json()["results"][0]["detail"]
    assert client.delete("/api/articles/api-1", headers=auth).status_code == 200
    assert client.delete("/api/articles/api-1", headers=auth).status_code == 404


def test_server_errors_get_a_friendly_page(index_dir):
    app = create_app({"INDEX": str(index_dir)})  # not TESTING: errors are handled, not raised

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", "broken", broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html and "boom" not in html
    assert 'class="masthead"' in html


def test_article_page_highlights_the_query(client):
    post_add(client, text="Harbour ferry\n\nThe ferry crossed the harbour twice.\n\nNo hit here.")
    article_id = client.get("/api/search?q=ferry").get_json()["results"][0]["id"]
    html = client.get(f"/articles/{article_id}?q=ferries").get_data(as_text=True)
    assert "The <mark>ferry</mark> crossed" in html
    assert client.get(f"/articles/{article_id}").get_data(as_text=True).count("<mark>") == 0
