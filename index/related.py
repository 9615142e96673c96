"""Related articles: the other articles of the archive closest to one article, for the
article page, `GET /api/articles/<id>/related` and `precis related ID`.

An article is described by its key words: the terms of its headline and text weighted by
tf-idf (`1 + log tf` in the article, headline terms counted `HEADLINE_WEIGHT` times, and
`log(paragraphs / paragraphs holding the term)` from the archive), the best `KEY_WORDS` of
them, each written as the word the article uses most for it. Those words go to the
archive's own search as a description (any of them will do; articles holding the most of
them first, then by relevance), one result per story. The article itself, its story's
other versions (copies, updates, the same wire copy elsewhere: `versions`) and any
result whose story is the article's are left out, so what remains is about the same
subject but is not the same story. Works on every backend: it needs only `search`,
`versions` and the archive's term frequencies (`Archive.frequencies`).
"""

from __future__ import annotations

import math
from collections import Counter

from .archive import Archive
from .models import ArticleResult, SearchRequest, StoredArticle
from .query import OPERATORS
from .terms import MIN_TERM_LETTERS, TOKEN, language_code, stemmer, stop_words

RELATED = 5  # articles shown
# What the API and `precis related --json` give of each: what a reader needs to open it.
SUMMARY_FIELDS = ("id", "title", "date", "source", "category", "url", "short_digest", "score")
# The words that describe an article (same category on BBC: 8 words 0.81, 12 0.85, 16 0.865,
# 24 0.863).
KEY_WORDS = 16
HEADLINE_WEIGHT = 1  # a headline word counts as this many occurrences (BBC: 3 was no better)
CANDIDATE_TERMS = 60  # the most frequent terms whose rarity is looked up
MIN_LETTERS = 3  # shorter words rarely say what an article is about
SHARED = 2  # a key word is in at least this many paragraphs of the archive
# And in at most this share of them (BBC: 1.0 0.871 same category, 0.1 0.871, 0.05 0.869,
# 0.02 0.862), unless the archive is so small that no word is costly to search for.
MAX_SHARE = 0.05
COMMON_FLOOR = 200


def key_words(archive: Archive, stored: StoredArticle, count: int | None = None) -> list[str]:
    """The `count` (KEY_WORDS) words that best describe `stored`, most telling first."""
    count = KEY_WORDS if count is None else count
    article = stored.article
    language = language_code(article.language)
    stop = stop_words(language)
    stem = stemmer(language)
    frequency: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    texts = [(article.title, HEADLINE_WEIGHT), (article.standfirst, HEADLINE_WEIGHT)]
    texts += [(paragraph, 1) for paragraph in article.paragraphs]
    for text, weight in texts:
        for token in TOKEN.findall(text):
            lowered = token.lower()
            if (
                len(lowered) < max(MIN_LETTERS, MIN_TERM_LETTERS)
                or lowered in stop
                or token in OPERATORS
                or not lowered.isalpha()
            ):
                continue
            found = stem(lowered)
            frequency[found] += weight
            spellings.setdefault(found, Counter())[lowered] += weight
    if not frequency:
        return []
    candidates = [found for found, _ in frequency.most_common(CANDIDATE_TERMS)]
    paragraphs, holding = archive.frequencies(candidates)
    paragraphs = max(paragraphs, 1)

    def weight(found: str) -> float:
        rarity = math.log((paragraphs + 1) / (holding.get(found, 0) + 1))
        return (1 + math.log(frequency[found])) * rarity

    # A word in one paragraph only is this article's alone: it can't lead to another one
    # (and the search would look for close spellings of it).
    # A word in a large share of the paragraphs says little about any one article, and is
    # the costliest to search for.
    most = max(COMMON_FLOOR, MAX_SHARE * paragraphs)
    shared = [found for found in candidates if SHARED <= holding.get(found, 0) <= most]
    best = sorted(shared, key=lambda found: (-weight(found), found))[:count]
    return [spellings[found].most_common(1)[0][0] for found in best if weight(found) > 0]


def related(
    archive: Archive, article_id: str, limit: int = RELATED, *, group: bool = True
) -> list[ArticleResult] | None:
    """The `limit` articles most related to the article with this id (None if there is
    no such article), each with its one-sentence digest (`short_digest`); `group` gives
    one result per story (the `group_versions` setting)."""
    with archive.reading():
        stored = archive.get(article_id)
        if stored is None:
            return None
        words = key_words(archive, stored)
        if not words:
            return []
        own = {article_id, stored.story or article_id}
        own |= {version.id for version in archive.versions(article_id)}
        request = SearchRequest(
            query=" ".join(words), per_page=limit + len(own) + 2, group=group, description=True
        )
        page = archive.search(request)
    found = []
    for result in page.results:
        if result.id in own or any(version.id in own for version in result.versions):
            continue
        found.append(result)
    return found[:limit]


def related_json(article_id: str, found: list[ArticleResult]) -> dict:
    """The related articles in the shape of `GET /api/articles/<id>/related`."""
    return {
        "article": article_id,
        "related": [{name: getattr(r, name) for name in SUMMARY_FIELDS} for r in found],
    }
