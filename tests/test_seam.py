"""The archive seam: one way to open an archive, no Whoosh outside its backend, no engine
markup trusted by a template, one term pipeline for digests and search."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import make_article

from index.archive import Archive, ArchiveError, open_archive
from index.digest import digest
from index.ingest import store_articles
from index.marking import cropped, mark, to_html, to_terminal
from index.models import Marked, SearchRequest
from index.terms import terms
from index.whoosh_backend import WhooshArchive

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_outside_the_whoosh_backend_imports_whoosh():
    backend = ROOT / "index" / "whoosh_backend"
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("index", "webapp")
        for path in (ROOT / folder).rglob("*.py")
        if backend not in path.parents and "whoosh" in _imports(path)
    ]
    assert offenders == []


def test_no_template_marks_anything_safe():
    for template in (ROOT / "templates").glob("*.html"):
        text = template.read_text("utf-8")
        assert not re.search(r"\|\s*safe\b", text), template.name
        assert "Markup(" not in text, template.name


def test_the_app_and_the_cli_open_archives_one_way(tmp_path):
    archive = open_archive({"backend": "whoosh", "index": tmp_path / "a"}, create=True)
    assert isinstance(archive, WhooshArchive) and isinstance(archive, Archive)
    with pytest.raises(ArchiveError, match="unknown backend 'solr'"):
        open_archive({"backend": "solr", "index": tmp_path / "b"})
    for module in ("webapp/__init__.py", "webapp/cli.py"):
        source = (ROOT / module).read_text("utf-8")
        assert "open_archive(" in source and "WhooshArchive(" not in source, module


def test_the_focused_digest_and_the_search_page_agree(archive):
    # "first" is not a stop word for the index (it carries news), so a digest focused on
    # it must prefer the sentences the search marks.
    paragraphs = [
        "The harbour council met on Tuesday to vote on a new ferry for the island route.",
        "Councillors approved four million pounds for the electric ferry after a long debate.",
        "The crossing takes twenty minutes and carries three hundred cars a day.",
        "The vessel will be the first electric ferry on the coast when it sails next spring.",
        "The diesel boat it replaces will be sold to a museum in the north.",
        "Fares will stay the same for islanders, the council said on Tuesday evening.",
    ]
    article = make_article("ferry", "Council buys an electric ferry", paragraphs)
    store_articles(archive, [article])
    for query in ("first", "museum", "islanders fares"):
        page = archive.search(SearchRequest(query=query))
        shown = [sentence.paragraph for sentence in page.results[0].digest]
        focused = [sentence.paragraph for sentence in digest(article, query=query).sentences]
        assert shown == focused, query
        assert any(marked.marks for marked in page.results[0].digest_marked), (
            f"{query}: the focused digest shows a marked word"
        )


def test_the_term_pipeline_stems_drops_stop_words_and_keeps_news_words():
    assert terms("The first ferries were running") == ["first", "ferri", "run"]
    assert terms("Les premières traversées", "fr") == ["premi", "travers"]


def test_marked_text_is_escaped_and_only_our_marks_are_markup():
    text = '<script>alert(1)</script> & the "ferry" <mark>x</mark>'
    marked = mark(text, frozenset(terms("ferry")))
    html = str(to_html(marked))
    assert html.count("<mark>") == 1 and "<mark>ferry</mark>" in html
    assert "<script>" not in html and "&lt;mark&gt;x&lt;/mark&gt;" in html
    # Spans from a backend are never trusted to be sane: overlapping, reversed or out of
    # range spans are skipped, not rendered.
    assert str(to_html(Marked("ab<c", [(0, 2), (1, 3), (3, 2), (5, 9)]))) == "<mark>ab</mark>&lt;c"


def test_cropping_keeps_the_marks_on_their_words():
    text = " ".join(["filler"] * 80 + ["harbour"] + ["filler"] * 80)
    marked = cropped(text, [(text.index("harbour"), text.index("harbour") + 7)])
    assert marked.text.startswith("… ") and marked.text.endswith(" …")
    assert [marked.text[a:b] for a, b in marked.marks] == ["harbour"]


def test_the_terminal_gets_colour_only_when_asked():
    marked = Marked("the ferry sails", [(4, 9)])
    assert to_terminal(marked, colour=False) == "the ferry sails"
    assert to_terminal(marked, colour=True) == "the \x1b[1;33mferry\x1b[0m sails"
