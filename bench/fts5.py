"""The baseline of bench/search.py: a lean SQLite FTS5 endpoint doing Precis's fragment's work.

One table of paragraphs (article id, paragraph number, text) with FTS5 prefix indexes, and
one of articles (title, source, category, date). For a query it does what Precis's live
fragment does: the last word as a prefix, the other words required, paragraphs ranked by
bm25 and grouped by article, the top articles with two highlighted snippets each, the
total of matching articles, the source and category facet counts over them, and a
compiled Jinja template. `app(path)` serves it with Flask, as Precis is served.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from flask import Flask, request
from jinja2 import Environment
from markupsafe import escape

_WORD = re.compile(r"\w+")
TEMPLATE = Environment(autoescape=True).from_string(
    """<section id="results"><p>{{ total }} articles match</p><ol>
{% for a in articles %}<li><h2><a href="/articles/{{ a.id }}">{{ a.title }}</a></h2>
<p>{{ a.date }} {{ a.source }} {{ a.category }}</p>
{% for s in a.snippets %}<p>{{ s|safe }}</p>{% endfor %}</li>{% endfor %}</ol>
<aside>{% for name, counts in facets.items() %}<h3>{{ name }}</h3><ul>
{% for value, n in counts %}<li>{{ value }} {{ n }}</li>{% endfor %}</ul>{% endfor %}</aside>
</section>"""
)


def build(path: Path, articles: Iterable[dict]) -> None:
    """Write the FTS5 database for `articles` (records in Precis's ingest format)."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE article(id TEXT PRIMARY KEY, title TEXT, source TEXT, category TEXT,
                             date TEXT);
        CREATE VIRTUAL TABLE para USING fts5(article UNINDEXED, number UNINDEXED, text,
                                             tokenize='porter unicode61', prefix='2 3 4');
        """
    )
    for record in articles:
        db.execute(
            "INSERT INTO article VALUES (?, ?, ?, ?, ?)",
            (record["id"], record["title"], record["source"], record["category"], record["date"]),
        )
        db.executemany(
            "INSERT INTO para(article, number, text) VALUES (?, ?, ?)",
            [(record["id"], n, text) for n, text in enumerate(record["paragraphs"])],
        )
    db.commit()
    db.close()


def match_expression(query: str) -> str:
    """All words required, the last one as a prefix (as it is being typed)."""
    words = _WORD.findall(query.lower())
    if not words:
        return ""
    terms = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return " AND ".join(terms)


class Endpoint:
    """The search, with one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()

    def db(self) -> sqlite3.Connection:
        if getattr(self.local, "db", None) is None:
            self.local.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        return self.local.db

    def fragment(self, query: str, per_page: int = 10, page: int = 1) -> str:
        db = self.db()
        expression = match_expression(query)
        if not expression:
            rows = db.execute(
                "SELECT id, title, date, source, category FROM article "
                "ORDER BY date DESC LIMIT ? OFFSET ?",
                (per_page, (page - 1) * per_page),
            ).fetchall()
            total = db.execute("SELECT count(*) FROM article").fetchone()[0]
            shown = [_article(row, []) for row in rows]
            return TEMPLATE.render(total=total, articles=shown, facets={})
        db.execute("DROP TABLE IF EXISTS temp.hits")
        db.execute(
            "CREATE TEMP TABLE hits AS SELECT article, min(rank) AS best FROM "
            "(SELECT article, rank FROM para WHERE para MATCH ?) GROUP BY article",
            (expression,),
        )
        total = db.execute("SELECT count(*) FROM temp.hits").fetchone()[0]
        facets = {
            name: db.execute(
                f"SELECT a.{name}, count(*) AS n FROM temp.hits h JOIN article a ON a.id = "
                f"h.article GROUP BY a.{name} ORDER BY n DESC LIMIT 12"
            ).fetchall()
            for name in ("source", "category")
        }
        top = db.execute(
            "SELECT a.id, a.title, a.date, a.source, a.category FROM temp.hits h "
            "JOIN article a ON a.id = h.article ORDER BY h.best LIMIT ? OFFSET ?",
            (per_page, (page - 1) * per_page),
        ).fetchall()
        shown = []
        for row in top:
            snippets = [
                snippet
                for (snippet,) in db.execute(
                    "SELECT snippet(para, 2, '<mark>', '</mark>', ' … ', 40) FROM para "
                    "WHERE para MATCH ? AND article = ? ORDER BY rank LIMIT 2",
                    (expression, row[0]),
                )
            ]
            shown.append(_article(row, [_escape_marked(s) for s in snippets]))
        return TEMPLATE.render(total=total, articles=shown, facets=facets)


def _article(row, snippets: list[str]) -> dict:
    return dict(zip(("id", "title", "date", "source", "category"), row, strict=True)) | {
        "snippets": snippets
    }


def _escape_marked(snippet: str) -> str:
    """Escape a snippet but keep the <mark> tags SQLite put in."""
    parts = re.split(r"(</?mark>)", snippet)
    return "".join(p if p in ("<mark>", "</mark>") else str(escape(p)) for p in parts)


def app(path: Path) -> Flask:
    """The endpoint as a Flask app: `GET /search?q=...&page=N` returns the fragment."""
    endpoint = Endpoint(path)
    flask_app = Flask("fts5")

    @flask_app.get("/search")
    def search():
        page = int(request.args.get("page", "1") or 1)
        return endpoint.fragment(request.args.get("q", ""), page=page)

    @flask_app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return flask_app
