"""The archive seam: one way to open an archive, no Whoosh outside its backend, no engine
markup trusted by a template, one term pipeline for digests and search."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import make_article
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_the_neutral_parse_reads_the_query_language():
    from index.query import parse

    parsed = parse('harbour "electric ferry" -diesel NOT "old boat" title:budget teles*')
    assert [(c.words, c.field, c.excluded, c.prefix) for c in parsed.clauses] == [
        (("harbour",), "", False, False),
        (("electric", "ferry"), "", False, False),
        (("diesel",), "", True, False),
        (("old", "boat"), "", True, False),
        (("budget",), "title", False, False),
        (("teles",), "", False, True),
    ]
    assert parse("ferry OR boat").any_word
    typing = parse(SearchRequest(query="harbour fe", typing=True))
    assert typing.typed == "fe" and typing.clauses[-1].prefix
    assert parse("“curly quotes” smith:x").clauses[0].words == ("curly", "quotes")
    assert parse("-( NOT").clauses == []


WORDS = ["harbour", "ferry", "electric", "council", "budget", "the", "running"]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(WORDS),
            st.sampled_from(WORDS).map(lambda w: f"-{w}"),
            st.sampled_from(WORDS).map(lambda w: f"title:{w}"),
            st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(
                lambda ws: '"' + " ".join(ws) + '"'
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=200, deadline=None)
def test_both_backends_read_the_same_words_from_a_query(pieces):
    """The Whoosh backend parses with Whoosh's parser, the Typesense backend from the
    neutral form: they must agree on which words are wanted and which excluded."""
    from whoosh.query import Not, Phrase
    from whoosh.query import Term as WhooshTerm

    from index.query import clean_query, parse
    from index.whoosh_backend.search import _parser

    text = " ".join(pieces)
    parsed = parse(text)
    wanted = {t for c in parsed.required for t in terms(" ".join(c.words))}
    excluded = {t for c in parsed.excluded for t in terms(" ".join(c.words))}
    found: dict[bool, set[str]] = {True: set(), False: set()}

    def walk(node, negated=False):
        if isinstance(node, Not):
            walk(node.query, True)
        elif isinstance(node, Phrase):
            found[negated].update(node.words)
        elif isinstance(node, WhooshTerm):
            found[negated].add(node.text)
        elif not node.is_leaf():
            for child in node.children():
                walk(child, negated)

    walk(_parser(False).parse(clean_query(text)))
    assert found[False] == wanted and found[True] == excluded, text
