"""Shared fixtures: a real Whoosh archive in a temporary folder, files to ingest, the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.models import Article
from index.whoosh_backend import WhooshArchive

SEED_TEXT = """Coalition ministers meet in Brussels

Coalition ministers meet in Brussels
Defence ministers will gather in Brussels on Thursday to discuss the campaign.
3 min read
11 February, 2016
Some partners have "done nothing at all" said the chief [Getty]

Defence chief Ashton Carter and dozens of ministers are meeting in Brussels on Thursday to take stock of a difficult campaign.

More than 18 months after the alliance began its air campaign, Carter hopes renewed alarm will bring greater commitments from partners.

A senior official said Washington is looking not just for pledges of military support and cash, but for ideas too.

The summit comes at the end of a two-day meeting of Nato defence ministers in the Belgian capital.
"""


def make_article(
    article_id: str = "a1",
    title: str = "Harbour ferry goes electric",
    paragraphs: list[str] | None = None,
    **fields,
) -> Article:
    """Build an Article directly, as tests of search and digests need."""
    return Article(
        id=article_id,
        title=title,
        paragraphs=paragraphs
        or [
            "The harbour council voted on Thursday to replace the diesel ferry with an "
            "electric one.",
            "The new ferry will carry 120 passengers and charge at the quay between crossings.",
        ],
        **fields,
    )


@pytest.fixture(scope="session")
def typesense_server(tmp_path_factory):
    """One real Typesense server on 127.0.0.1 for the session; tests use collections of
    their own in it (see tests/typesense_servers.py)."""
    from typesense_servers import typesense_node

    with typesense_node(tmp_path_factory.mktemp("typesense")) as node:
        yield node


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def archive(index_dir: Path):
    archive = WhooshArchive(index_dir, create=True)
    yield archive
    archive.close()


@pytest.fixture
def newsroom_archive(archive):
    """The archive holding tests/newsroom.py's three running stories."""
    from newsroom import newsroom

    from index.ingest import store_articles

    report = store_articles(archive, newsroom())
    assert report.ok, report.summary()
    return archive


@pytest.fixture
def newsroom_client(index_dir, newsroom_archive):
    """The app (test client) over the newsroom archive."""
    from webapp import create_app

    newsroom_archive.close()
    return create_app({"INDEX": str(index_dir), "TESTING": True}).test_client()


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A folder of articles in several formats."""
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "seed.txt").write_text(SEED_TEXT, "utf-8")
    records = [
        {
            "id": f"brief-{n}",
            "title": f"Brief number {n}",
            "date": "2025-01-0" + str(n),
            "source": "Wire",
            "category": "science" if n % 2 else "sport",
            "paragraphs": [
                f"Brief {n} reports that the observatory saw comet number {n} last night.",
                "Astronomers said the comet would stay visible through a small telescope.",
            ],
        }
        for n in range(1, 4)
    ]
    (folder / "briefs.jsonl").write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return folder


def write(path: Path, content: str | bytes) -> Path:
    """Write text or bytes to `path`, creating folders, and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    return path
