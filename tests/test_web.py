"""Pages and JSON API through Flask's test client, and a real server process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import make_article
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.ingest import ingest_paths, store_articles
from webapp import archive_of, create_app


@pytest.fixture
def app(index_dir, sources):
    app = create_app({"INDEX": str(index_dir), "TESTING": True})
    ingest_paths(archive_of(app), [sources])
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_search_page_shows_results_with_hits_and_digest(client):
    response = client.get("/search?q=Carter+Brussels")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Coalition ministers meet in Brussels" in html
    assert "<mark>Carter</mark>" in html
    # Its three hits show every sentence of its digest: the digest is not repeated.
    assert 'class="digest"' not in html
    html = client.get("/search?q=summit").get_data(as_text=True)
    assert 'class="digest"' in html and html.count("comes at the end of a two-day") == 1
    assert "1 article matches" in html
    assert response.headers["Vary"] == (
        "HX-Request, Precis-Typing, HX-History-Restore-Request, Precis-History"
    )


def test_live_keystrokes_complete_the_last_word(client):
    typed = {"HX-Request": "true", "Precis-Typing": "1"}
    html = client.get("/search?q=Bruss", headers=typed).get_data(as_text=True)
    assert "Coalition ministers meet in Brussels" in html
    assert "<mark>Brussels</mark>" in html
    # The same address without the live page's header is a settled search for "Bruss".
    settled = client.get("/search?q=Bruss", headers={"HX-Request": "true"})
    assert "Coalition ministers meet in Brussels" not in settled.get_data(as_text=True)
    # The API says it with a parameter.
    assert client.get("/api/search?q=Bruss&typing=1").get_json()["total"] == 1
    assert client.get("/api/search?q=Bruss").get_json()["total"] == 0


def test_words_left_out_and_missing_words_are_said_and_escaped(client):
    html = client.get("/search?q=Carter+<b>zzqx</b>").get_data(as_text=True)
    assert "left out: “&lt;b&gt;zzqx&lt;/b&gt;”" in html and "<b>zzqx" not in html
    assert "Coalition ministers meet in Brussels" in html
    # "comet" and "Carter" are never in one article: one is left out, and the other's
    # articles fill the page below, each saying what it lacks.
    html = client.get("/search?q=comet+Carter").get_data(as_text=True)
    assert 'class="missing">Missing: <s>Carter</s></p>' in html
    data = client.get("/api/search?q=Carter+zzqx").get_json()
    assert data["dropped"] == ["zzqx"] and data["total"] == 1


def test_htmx_request_gets_only_the_results_fragment(client):
    response = client.get("/search?q=comet", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "3 articles match" in html


def test_article_page_has_digest_and_anchored_paragraphs(client):
    response = client.get("/articles/brief-2")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="p-1"' in html and 'id="p-2"' in html
    assert html.index('class="digest"') < html.index('id="p-1"')
    assert 'href="#p-1"' in html


def test_unknown_article_is_a_friendly_404(client):
    response = client.get("/articles/nope")
    assert response.status_code == 404
    assert "There is no article with the id" in response.get_data(as_text=True)
    api = client.get("/api/articles/nope")
    assert api.status_code == 404 and "error" in api.get_json()


def test_article_text_is_escaped(app, client):
    store_articles(
        archive_of(app),
        [make_article("xss", title="<b>Bold</b> claims",
                      paragraphs=["A <script>alert(1)</script> ferry story about harbours."])],
    )  # fmt: skip
    for url in ("/search?q=ferry+harbours", "/articles/xss"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<b>Bold" not in html
        assert "&lt;script&gt;" in html


def test_api_search_shape_and_bad_parameters(client):
    data = client.get("/api/search?q=comet&per_page=2&page=1").get_json()
    assert data["total"] == 3 and len(data["results"]) == 2
    assert {"query", "total", "page", "per_page", "results"} <= set(data)
    assert client.get("/api/search?q=comet&per_page=101").status_code == 400
    bad = client.get("/api/search?q=comet&page=x")
    assert bad.status_code == 400 and "page" in bad.get_json()["error"]


def test_api_article(client):
    data = client.get("/api/articles/brief-1").get_json()
    assert data["id"] == "brief-1" and len(data["paragraphs"]) == 2
    assert data["digest"] and set(data["digest"][0]) == {"text", "paragraph"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_precis_serve_answers_over_http(index_dir, sources):
    subprocess.run(
        [sys.executable, "-m", "webapp.cli", "ingest", str(sources), "--index", str(index_dir)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "webapp.cli", "serve", "--index", str(index_dir),
         "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/?q=Carter+Brussels") as r:
                    html = r.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert "Coalition ministers meet in Brussels" in html
    finally:
        server.terminate()
        server.communicate(timeout=30)


@pytest.mark.parametrize(
    ("query", "message"),
    [("per_page=0", "per_page"), ("per_page=101", "per_page"), ("page=-1", "page"),
     ("sort=random", "sort"), ("from=yesterday", "from"), ("to=2020-13", "to"),
     ("from=2025-01-02&to=2025-01-01", "from")],
)  # fmt: skip
def test_api_rejects_bad_parameters_with_a_message(client, query, message):
    response = client.get(f"/api/search?q=comet&{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_api_filters_facets_and_sort(client):
    data = client.get("/api/search?q=comet&sort=date&category=science&per_page=5").get_json()
    assert [r["id"] for r in data["results"]] == ["brief-3", "brief-1"]
    assert data["sort"] == "date" and data["per_page"] == 5
    assert {f["value"]: f["count"] for f in data["facets"]["category"]} == {
        "science": 2,
        "sport": 1,
    }
    assert set(data) == {
        "query", "total", "page", "per_page", "sort", "message", "suggestion", "dropped",
        "facets", "results",
    }  # fmt: skip
    typo = client.get("/api/search?q=comett").get_json()
    assert typo["suggestion"] == "comet" and typo["total"] == 3


def test_pages_tolerate_bad_parameters(client):
    response = client.get("/search?q=comet&page=zero&sort=sideways&from=soon")
    assert response.status_code == 200
    assert "3 articles match" in response.get_data(as_text=True)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.text(max_size=200),
    extra=st.dictionaries(
        st.sampled_from(["page", "per_page", "sort", "from", "to", "source", "category"]),
        st.text(max_size=12),
        max_size=3,
    ),
)
def test_hostile_http_requests_never_fail(client, query, extra):
    params = {"q": query, **extra}
    page = client.get("/search", query_string=params)
    assert page.status_code == 200
    api = client.get("/api/search", query_string=params)
    assert api.status_code in (200, 400)
    assert api.is_json


def test_an_undated_archive_offers_no_date_sort_and_claims_no_order(index_dir):
    app = create_app({"INDEX": str(index_dir), "TESTING": True})
    store_articles(
        archive_of(app),
        [make_article(f"u{n}", f"Undated {n}", [f"Ferry note {n}."]) for n in range(3)],
    )
    client = app.test_client()
    landing = client.get("/").get_data(as_text=True)
    assert "3 articles" in landing and "newest first" not in landing
    assert 'class="histogram"' not in landing and 'class="dates"' not in landing
    results = client.get("/search?q=ferry").get_data(as_text=True)
    assert 'aria-label="Sort"' not in results and "Newest" not in results


def test_a_page_past_the_end_shows_the_last_page(client):
    html = client.get("/search?q=comet&per_page=1&page=999").get_data(as_text=True)
    assert "Page 3 of 3" in html and "Page 999" not in html
    data = client.get("/api/search?q=comet&per_page=1&page=999").get_json()
    assert data["page"] == 3 and len(data["results"]) == 1


def test_the_first_keystroke_of_a_search_asks_for_a_history_entry(client):
    first = {"HX-Request": "true", "Precis-Typing": "1", "Precis-History": "push"}
    response = client.get("/search?q=Carter", headers=first)
    assert response.headers["HX-Push-Url"] == "/search?q=Carter"
    later = client.get("/search?q=Carter+B", headers={"HX-Request": "true", "Precis-Typing": "1"})
    assert "HX-Push-Url" not in later.headers  # the element's hx-replace-url applies
    # Back to an entry htmx's cache has lost: the whole page, not the fragment.
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client.get("/search?q=Carter", headers=restore).get_data(as_text=True)
    assert html.lstrip().lower().startswith("<!doctype html>")
