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
PER_ARTICLE = 100_000  # rowid = article number * PER_ARTICLE + paragraph number
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
        CREATE TABLE article(n INTEGER PRIMARY KEY, id TEXT UNIQUE, title TEXT, source TEXT,
                             category TEXT, date TEXT);
        CREATE VIRTUAL TABLE para USING fts5(text, tokenize='porter unicode61',
                                             prefix='2 3 4');
        """
    )
    # A paragraph's rowid is article number * PER_ARTICLE + paragraph number, so grouping
    # and counting by article never reads a row's content.
    for number, record in enumerate(articles):
        db.execute(
            "INSERT INTO article VALUES (?, ?, ?, ?, ?, ?)",
            (number, record["id"], record["title"], record["source"], record["category"],
             record["date"]),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO para(rowid, text) VALUES (?, ?)",
            [(number * PER_ARTICLE + n, text) for n, text in enumerate(record["paragraphs"])],
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
        # Ranked: only the best paragraphs (FTS5 keeps a top-k for ORDER BY rank LIMIT),
        # grouped by article here. Counted: every matching article, without ranking.
        wanted = page * per_page
        window = max(300, wanted * 5)
        best: dict[int, list[int]] = {}  # article -> its best paragraphs' rowids, in order
        for (rowid,) in db.execute(
            "SELECT rowid FROM para WHERE para MATCH ? ORDER BY rank LIMIT ?",
            (expression, window),
        ):
            best.setdefault(rowid // PER_ARTICLE, []).append(rowid)
        order = list(best)
        matching = f"SELECT DISTINCT rowid / {PER_ARTICLE} FROM para WHERE para MATCH ?"
        total = db.execute(f"SELECT count(*) FROM ({matching})", (expression,)).fetchone()[0]
        facets = {
            name: db.execute(
                f"SELECT {name}, count(*) AS c FROM article WHERE n IN ({matching}) "
                f"GROUP BY {name} ORDER BY c DESC LIMIT 12",
                (expression,),
            ).fetchall()
            for name in ("source", "category")
        }
        page_ids = order[(page - 1) * per_page : wanted]
        rows = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT n, id, title, date, source, category FROM article WHERE n IN "
                f"({','.join('?' * len(page_ids))})",
                page_ids,
            )
        }
        top = [(article, rows[article]) for article in page_ids if article in rows]
        wanted_rows = [rowid for article in page_ids for rowid in best[article][:2]]
        snippets = dict(
            db.execute(
                "SELECT rowid, snippet(para, 0, '<mark>', '</mark>', ' … ', 40) FROM para "
                f"WHERE para MATCH ? AND rowid IN ({','.join('?' * len(wanted_rows))})",
                (expression, *wanted_rows),
            )
        )
        shown = [
            _article(row, [_escape_marked(snippets[r]) for r in best[n][:2] if r in snippets])
            for n, row in top
        ]
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
