"""A search result as every backend builds it from a stored article: its query-focused
digest (`digest.focus`) and the query's words marked in it."""

from __future__ import annotations

from .articles import safe_url
from .digest import focus
from .marking import mark
from .models import ArticleResult, Hit, StoredArticle


def article_result(
    stored: StoredArticle, score: float, hits: list[Hit], wanted: frozenset[str]
) -> ArticleResult:
    """The result for `stored`: `hits` as given, the digest focused on the `wanted` terms."""
    article = stored.article
    digest = stored.digest.sentences
    if wanted:
        digest = focus(stored.digest, stored.digest_pool, wanted, article.paragraphs)
    return ArticleResult(
        id=article.id,
        title=article.headline,
        date=article.date,
        source=article.source,
        category=article.category,
        url=safe_url(article.url),
        score=round(score, 4),
        digest=digest,
        hits=hits,
        short_digest=stored.short_digest.text if stored.short_digest else "",
        digest_marked=[mark(s.text, wanted, article.language, crop=False) for s in digest],
    )
