"""Precis against an attacker: hostile article data in every view, headers on every
response, sessions bound to the token, a secret key that can't be planted, limits that
hold before a body is read, and slow clients that starve no one."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import socket
import stat
import subprocess
import time
from urllib.parse import urljoin

import pytest
from conftest import make_article, write
from servers import CLI, ROOT, clean_env, serving
from test_add import TOKEN, post_add

from index.articles import ArticleError, check_id, safe_url
from index.ingest import ArticleLimits, DigestSettings, digest_article, ingest_paths
from index.whoosh_backend import WhooshArchive
from webapp import StartupError, create_app

HOSTILE_URLS = [
    "javascript:alert(document.domain)",
    " JaVaScRiPt:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "\tjavascript:alert(1)",
    "//evil.example/x",
    "https:evil",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_only_http_addresses_are_links(url):
    assert safe_url(url) == ""


def test_http_addresses_are_kept():
    assert safe_url(" https://example.org/a?b=1 ") == "https://example.org/a?b=1"
    assert safe_url("HTTP://example.org/") == "HTTP://example.org/"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a/../../add", "'.' or '..' part"),
        ("..", "'.' or '..' part"),
        ("desk/./story", "'.' or '..' part"),
        (" lead", "spaces"),
        ("trail ", "spaces"),
        ("a\x00b", "U+0000"),
        ("a\u202eb", "U+202E"),
        ("a\\b", "U+005C"),
        ("x" * 201, "longer than 200"),
        ("/root", "leading '/'"),
        ("a?b", "'?'"),
    ],
)
def test_hostile_ids_are_refused_with_a_reason(value, message):
    with pytest.raises(ArticleError, match=re.escape(message)):
        check_id(value)


@pytest.fixture
def client(index_dir):
    """A test client of an app that takes writes with TOKEN."""
    return create_app(
        {"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "TESTING": True}
    ).test_client()


def hostile_record(**fields) -> dict:
    return {
        "id": "desk/2024/ferry",
        "title": "Ferry \u202egnp.exe\u202c news",
        "author": "Ann \u2066Writer\u2069",
        "url": "javascript:alert(document.domain)",
        "text": "The harbour ferry <script>alert(1)</script> runs on batteries now.",
        **fields,
    }


def test_hostile_fields_in_every_view(tmp_path, index_dir, client):
    source = write(
        tmp_path / "in" / "hostile.jsonl",
        "\n".join(
            json.dumps(r)
            for r in [
                hostile_record(),
                hostile_record(id="a/../../add"),
                hostile_record(id=" spaced"),
            ]
        ),
    )
    report = ingest_paths(WhooshArchive(index_dir), [source])
    assert report.added == ["desk/2024/ferry"]
    reasons = " | ".join(problem.reason for problem in report.failed)
    assert "id 'a/../../add' has a '.' or '..' part" in reasons and "spaces" in reasons

    # An older archive may hold what today's ingest refuses: views must still be safe.
    legacy = make_article(
        "a/../../add", title="Legacy \u202eevil", url=" JaVaScRiPt:alert(1)", author="x"
    )
    WhooshArchive(index_dir).write([digest_article(legacy, DigestSettings())])

    results = client.get("/search?q=ferry").get_data(as_text=True)
    assert "<script>alert" not in results and "&lt;script&gt;" in results
    hrefs = re.findall(r'href="([^"]*)"', results)
    assert not [
        h for h in hrefs if h.lower().lstrip().startswith(("javascript", "vbscript", "data"))
    ]
    article_links = [h for h in hrefs if "articles" in h]
    assert article_links
    for href in article_links:  # resolved as a browser would, every link stays under /articles/
        assert urljoin("http://precis.test/search", href.replace("&amp;", "&")).startswith(
            "http://precis.test/articles/"
        ), href
    assert "/articles/desk%2F2024%2Fferry" in results

    for article_id in ("desk/2024/ferry", "a/../../add"):
        page = client.get("/articles/" + article_id.replace("/", "%2F"))
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "javascript:" not in html.lower() and ">Original<" not in html
        assert "\u202e" not in html and "\u2066" not in html
        api = client.get("/api/articles/" + article_id.replace("/", "%2F")).get_json()
        assert api["url"] == ""
        assert "origin" not in api
    stored = client.get("/api/articles/desk%2F2024%2Fferry").get_json()
    assert stored["title"] == "Ferry gnp.exe news" and stored["author"] == "Ann Writer"
    assert str(tmp_path) not in json.dumps(stored)

    api_results = client.get("/api/search?q=ferry").get_json()["results"]
    assert {r["url"] for r in api_results} == {""}

    # The views across articles: a briefing, related articles, the feed.
    for path in ("/briefing?q=ferry", "/feed.atom?q=ferry", "/api/briefing?q=ferry",
                 "/api/articles/a%2F..%2F..%2Fadd/related"):  # fmt: skip
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "javascript:" not in body.lower(), path
        if not path.startswith("/api/"):  # JSON keeps the data as written; pages escape it
            assert "<script>alert" not in body and "\u202e" not in body, path
    # The exports are data, kept as written, but never a page nor a link.
    for fmt, media in (("csv", "text/csv"), ("jsonl", "application/x-ndjson")):
        response = client.get(f"/api/search?q=ferry&format={fmt}")
        assert response.mimetype == media and response.headers["X-Content-Type-Options"]
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "javascript:" not in response.get_data(as_text=True).lower()
    briefing = client.get("/api/briefing?q=ferry").get_json()
    assert briefing["sentences"] and {s["url"] for s in briefing["sources"]} == {""}
    assert not [s for s in briefing["sentences"] if "<script>" in s["html"]]
    cli = subprocess.run(
        [*CLI, "search", "ferry", "--json", "--index", str(index_dir)],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "javascript" not in cli.stdout.lower()


def test_the_public_article_shape(client):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    record = hostile_record(url="https://example.org/ferry", captions=["Quay [Gazette]"])
    assert client.post("/api/articles", json=record, headers=auth).status_code == 200
    data = client.get("/api/articles/desk%2F2024%2Fferry").get_json()
    assert set(data) == {
        "id", "title", "standfirst", "date", "source", "category", "author", "dateline", "url",
        "language", "reading_time", "captions", "paragraphs", "digest", "short_digest", "story",
        "ingested_at",
    }  # fmt: skip
    assert data["url"] == "https://example.org/ferry"
    assert data["captions"] == ["Quay [Gazette]"]


def assert_protected(response) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]


def test_security_headers_on_every_kind_of_response(client):
    for path in ["/", "/search?q=x", "/api/search?q=x", "/articles/nothing", "/api/articles/x",
                 "/static/style.css", "/static/vendor/htmx.min.js", "/add", "/healthz",
                 "/no/such/page", "/briefing?q=x", "/api/briefing?q=x", "/feed.atom?q=x",
                 "/api/articles/x/related", "/api/search?q=x&format=csv"]:  # fmt: skip
        with client.get(path) as response:
            assert_protected(response)
    assert_protected(client.post("/api/articles", json={}))
    assert_protected(client.get("/search?q=x", headers={"HX-Request": "true"}))


def test_pages_need_no_inline_script_or_style(client):
    for path in ["/", "/search?q=ferry", "/add", "/articles/nothing", "/briefing?q=ferry"]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"<style|<[^>]*\s(style|on[a-z]+)\s*=", html), path


def test_session_cookie_flags(index_dir):
    app = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN})
    plain = app.test_client().get("/add").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    https = app.test_client().get("/add", base_url="https://precis.test").headers["Set-Cookie"]
    assert "Secure" in https
    forwarded = {"X-Forwarded-Proto": "https"}
    ignored = app.test_client().get("/add", headers=forwarded).headers["Set-Cookie"]
    assert "Secure" not in ignored  # no proxy configured: the header proves nothing
    proxied = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "PROXY_HOPS": 1})
    behind = proxied.test_client().get("/add", headers=forwarded)
    assert "Secure" in behind.headers["Set-Cookie"]
    assert behind.headers["Strict-Transport-Security"]


def test_a_new_token_revokes_old_sessions(index_dir):
    first = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "TESTING": True})
    client = first.test_client()
    assert post_add(client, text="First\n\nOne body.").status_code == 200
    assert post_add(client, token="", text="Second\n\nTwo body.").status_code == 200
    # The operator changes the token and restarts: the same browser keeps its cookie.
    second = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": "brand-new", "TESTING": True})
    cookie = client.get_cookie("precis_session")
    fresh = second.test_client()
    fresh.set_cookie(cookie.key, cookie.value)
    assert 'name="token"' in fresh.get("/add").get_data(as_text=True)
    refused = post_add(fresh, token="", text="Third\n\nThree body.")
    assert refused.status_code == 403
    assert fresh.get("/api/search?q=three").get_json()["total"] == 0


def test_secret_key_lives_in_the_index_folder_and_is_private(index_dir):
    create_app({"INDEX": str(index_dir)})
    key = index_dir / "secret_key"
    assert key.exists() and not (index_dir.parent / "secret_key").exists()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_text().strip()) == 64


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda key: key.write_text(""), "is empty"),
        (lambda key: key.chmod(0o644), "chmod 600"),
        (lambda key: os.chown(key, 65534, 65534), "belongs to another user"),
    ],
)
def test_untrustworthy_secret_keys_stop_the_start(index_dir, damage, message):
    create_app({"INDEX": str(index_dir)})
    key = index_dir / "secret_key"
    if "another user" in message and os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root so that this case is tested")
        pytest.skip("giving a file to another user needs root")
    damage(key)
    with pytest.raises(StartupError, match=message):
        create_app({"INDEX": str(index_dir)})


# Past its limit on form parts werkzeug stops parsing and leaves the parts it had read to
# the garbage collector: harmless in a server, a ResourceWarning under `-W error`.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_too_many_files_says_so(index_dir):
    app = create_app({"INDEX": str(index_dir), "WRITE_TOKEN": TOKEN, "MAX_FILES": 3})
    client = app.test_client()
    files = [(io.BytesIO(b"T\n\nBody of a story."), f"s{n}.txt") for n in range(4)]
    response = post_add(client, files=files)
    assert response.status_code == 413
    assert "Too many files: 4" in response.get_data(as_text=True)
    many = [(io.BytesIO(b"T\n\nBody."), f"m{n}.txt") for n in range(40)]
    beyond = post_add(client, files=many)  # past werkzeug's own limit on form parts
    assert beyond.status_code == 413
    assert "Too many files" in beyond.get_data(as_text=True)


def test_compressed_input_is_refused_by_its_bytes(client):
    bomb = gzip.compress(b"<html><body>" + b"<p>word</p>" * 200_000 + b"</body></html>")
    response = post_add(client, files=[(io.BytesIO(bomb), "innocent.html")])
    html = response.get_data(as_text=True)
    assert "gzip-compressed" in html and '<tr class="failed">' in html


def test_oversized_articles_are_refused_one_by_one(tmp_path, index_dir):
    long_one = {"id": "long", "title": "Long", "paragraphs": [f"Paragraph {n}." for n in range(7)]}
    short = {"id": "short", "title": "Short", "paragraphs": ["Just one paragraph here."]}
    source = write(tmp_path / "in.jsonl", f"{json.dumps(long_one)}\n{json.dumps(short)}\n")
    archive = WhooshArchive(index_dir, create=True)
    report = ingest_paths(archive, [source], limits=ArticleLimits(max_paragraphs=5))
    assert report.added == ["short"]
    assert "7 paragraphs (at most 5" in report.failed[0].reason
    wide = ingest_paths(archive, [source], limits=ArticleLimits(max_chars=40))
    assert "characters (at most 40" in wide.failed[0].reason


def test_long_articles_are_shown_in_parts(client):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    paragraphs = [f"Paragraph number {n} of the long report." for n in range(450)]
    paragraphs[300] = "The harbour ferry appears only here in the long report."
    record = {"id": "long", "title": "Long report", "paragraphs": paragraphs}
    assert client.post("/api/articles", json=record, headers=auth).status_code == 200
    first = client.get("/articles/long").get_data(as_text=True)
    assert 'id="p-200"' in first and 'id="p-201"' not in first and "Part 1 of 3" in first
    hit = client.get("/search?q=ferry").get_data(as_text=True)
    assert "/articles/long?q=ferry&amp;part=2#p-301" in hit
    second = client.get("/articles/long?q=ferry&part=2").get_data(as_text=True)
    assert 'id="p-301"' in second and "<mark>ferry</mark>" in second
    assert client.get("/articles/long?part=99").status_code == 200


# --- against a real server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")
    index = tmp / "index"
    archive = WhooshArchive(index, create=True)
    source = write(tmp / "a.jsonl", json.dumps(hostile_record(url="https://example.org/")))
    ingest_paths(archive, [source])
    archive.close()
    env = clean_env(tmp, write_token=TOKEN, max_upload_mb="1", client_timeout="30")
    with serving(index, env) as running:
        yield running


def raw_exchange(url: str, head: bytes, wait: float = 10) -> bytes:
    """Send request headers only and return what the server answers before any body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_unauthenticated_upload_is_refused_before_its_body(server):
    head = (
        b"POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000\r\nExpect: 100-continue\r\n\r\n"
    )
    answer = raw_exchange(server.url, head)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"100 Continue" not in answer
    assert b"Content-Security-Policy" in answer


def test_oversized_body_is_refused_before_it_is_stored(server):
    head = (
        b"POST /api/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
        + b"\r\nContent-Length: 300000000\r\n\r\n"
    )  # fmt: skip
    answer = raw_exchange(server.url, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_oversized_browser_upload_gets_a_page(server):
    head = (
        b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: 300000000\r\n\r\n"
    )
    answer = raw_exchange(server.url, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"text/html" in answer and b"Content-Security-Policy" in answer


def test_slow_clients_starve_no_one(server):
    host, port = server.url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(120):  # each sends half a request line and stalls
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(b"GET /search?q=ferry HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        for _ in range(20):
            answer = server.get("/api/search?q=ferry", timeout=10)
            assert answer.status == 200 and answer.json()["total"] == 1
        time.sleep(0.5)
        assert server.process.poll() is None
    finally:
        for sock in slow:
            sock.close()


def test_waitress_errors_carry_the_headers_too(server):
    answer = raw_exchange(server.url, b"BROKEN\r\n\r\n")
    assert b"400" in answer.split(b"\r\n", 1)[0]
    assert b"X-Content-Type-Options: nosniff" in answer


def test_cli_errors_are_one_line(tmp_path):
    index = tmp_path / "index"
    WhooshArchive(index, create=True).close()
    (index / "precis.json").write_text('{"schema_version": 1}')
    result = subprocess.run(
        [*CLI, "stats", "--index", str(index)],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "another version of Precis" in result.stderr
    assert "Traceback" not in result.stderr
