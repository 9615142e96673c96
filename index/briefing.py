"""A briefing across the results of a search: one paragraph that says what happened,
drawn from the best-matching articles, every sentence traced to its article and paragraph.

No language model and no re-parsing at query time: every stored article carries a digest
pool (ingest's best standalone sentences, up to 12, each with its place and its terms
stemmed as the index stems them; see `digest.summarize_with_pool`), and a briefing is
arithmetic on those pools.

1. The search's best `READ` articles (one per story when grouping is on, the request's
   filters applied) are read; their pool sentences are the candidates.
2. Each candidate is scored:
   `CENTRALITY_WEIGHT * centrality + QUERY_WEIGHT * query match + rank prior`.
   Centrality is what several articles say: for every *other* article, the candidate's
   best idf-weighted cosine similarity to one of its sentences, summed, scaled to 0..1.
   Query match is the share of the query's terms the sentence holds. The rank prior
   favours the articles the search ranks first and the sentences their own digest ranks
   first (`ARTICLE_PRIOR`, `POOL_PRIOR`).
3. Sentences are chosen by maximal marginal relevance (`MMR_LAMBDA`): the best score less
   the likeness to sentences already chosen. Two sentences never say the same thing: none
   is taken whose likeness to a chosen one is above `REDUNDANCY`, the cosine of their
   binary term sets (|A ∩ B| / sqrt(|A| |B|)). The first three sentences come from three
   different articles when three have candidates, and no article gives more than
   `MAX_PER_ARTICLE`.
4. Four to six sentences (`SENTENCES`, fewer only when there are fewer candidates), about
   `MAX_WORDS` words at most, in date order (undated articles last), each linked to its
   paragraph; the articles they come from are listed as numbered sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .archive import Archive
from .articles import safe_url
from .marking import mark
from .models import Briefing, BriefSentence, BriefSource, PoolSentence, SearchRequest
from .query import parse
from .terms import term

READ = 20  # the best-matching articles a briefing draws on
SENTENCES = 5  # what a briefing aims for: between MIN_SENTENCES and MAX_SENTENCES
MIN_SENTENCES = 4
MAX_SENTENCES = 6
MAX_WORDS = 140  # past MIN_SENTENCES, a sentence that would go past this is left out
MAX_SENTENCE_WORDS = 60  # longer "sentences" are run-ons (glued lists, captions)
MIN_TERMS = 3  # a sentence with fewer terms says too little to stand in a briefing
DISTINCT_ARTICLES = 3  # the first sentences come from this many different articles
MAX_PER_ARTICLE = 2
REDUNDANCY = 0.5  # binary term-set cosine above which two sentences say the same thing
MMR_LAMBDA = 0.7
CENTRALITY_WEIGHT = 1.0
QUERY_WEIGHT = 0.6
ARTICLE_PRIOR = 0.3  # ARTICLE_PRIOR / sqrt(1 + the article's rank in the results)
POOL_PRIOR = 0.3  # POOL_PRIOR / (1 + the sentence's rank in its article's pool)


@dataclass
class _Candidate:
    article: int  # the article's place among the results read
    pool: PoolSentence
    rank: int  # its place in the article's pool
    text: str
    terms: frozenset[str]
    score: float = 0.0


def brief(archive: Archive, request: SearchRequest, *, read: int = READ) -> Briefing:
    """The briefing for `request` (its query and filters; its page is ignored)."""
    asked = replace(request, page=1, per_page=read, typing=False)
    with archive.reading():
        page = archive.search(replace(asked, hits=False))
        # Articles that fill a short page lack some of the words: they are not matches.
        ids = [result.id for result in page.results if not result.missing]
        records = archive.records(ids, fresh=False)
    stored = [records[i] for i in ids if i in records]
    parsed = parse(asked)
    wanted = frozenset(
        found for word in parsed.words if (found := term(word)) is not None
    )
    candidates = _candidates(stored)
    if not page.total:
        message = page.message or "No article matches that search."
        return Briefing(asked, 0, 0, [], [], message + " There is nothing to brief.")
    if not candidates:
        return Briefing(
            asked, page.total, len(stored), [], [],
            "The matching articles have no sentences that stand alone in a briefing.",
        )  # fmt: skip
    alike = _score(candidates, wanted)
    chosen = _choose(candidates, alike)
    chosen.sort(key=lambda c: _reading_order(c, stored))
    sources: list[BriefSource] = []
    number: dict[int, int] = {}
    sentences = []
    for candidate in chosen:
        article = stored[candidate.article].article
        if candidate.article not in number:
            number[candidate.article] = len(sources)
            sources.append(
                BriefSource(
                    article.id, article.headline, article.date, article.source,
                    safe_url(article.url),
                )
            )  # fmt: skip
        sentences.append(
            BriefSentence(
                mark(candidate.text, wanted, article.language, crop=False),
                article.id,
                candidate.pool.paragraph,
                number[candidate.article],
            )
        )
    return Briefing(asked, page.total, len(stored), sentences, sources, page.message)


def _candidates(stored: list) -> list[_Candidate]:
    found = []
    for place, record in enumerate(stored):
        paragraphs = record.article.paragraphs
        for rank, sentence in enumerate(record.digest_pool):
            if sentence.paragraph >= len(paragraphs):
                continue
            text = sentence.text_in(paragraphs).strip()
            terms = frozenset(sentence.terms)
            if len(terms) < MIN_TERMS or len(text.split()) > MAX_SENTENCE_WORDS:
                continue
            found.append(_Candidate(place, sentence, rank, text, terms))
    return found


def _score(candidates: list[_Candidate], wanted: frozenset[str]) -> np.ndarray:
    """Set each candidate's score (centrality across the articles, query match, priors)
    and return the likeness of every pair of candidates (see `likeness`)."""
    count = len(candidates)
    sizes = np.array([len(c.terms) for c in candidates], dtype=np.float32)
    document_frequency: dict[str, int] = {}
    for candidate in candidates:
        for word in candidate.terms:
            document_frequency[word] = document_frequency.get(word, 0) + 1
    # A term of one sentence only adds to its length, not to any likeness: only shared
    # terms get a column (a few hundred rather than thousands).
    shared = {word: n for n, word in enumerate(w for w, f in document_frequency.items() if f > 1)}
    rows = np.zeros((count, len(shared)), dtype=np.float32)
    norms = np.zeros(count, dtype=np.float32)  # squared lengths of the idf-weighted vectors
    single = (math.log((1 + count) / 2) + 1.0) ** 2
    for row, candidate in enumerate(candidates):
        columns = [shared[w] for w in candidate.terms if w in shared]
        rows[row, columns] = 1.0
        norms[row] = single * (len(candidate.terms) - len(columns))
    alike = (rows @ rows.T) / np.sqrt(np.outer(sizes, sizes))
    idf = np.log((1 + count) / (1 + rows.sum(axis=0))) + 1.0
    weighted = rows * idf
    norms += (weighted * weighted).sum(axis=1)
    weighted /= np.sqrt(norms)[:, None]
    similarity = weighted @ weighted.T
    articles = np.array([c.article for c in candidates])
    centrality = np.zeros(count, dtype=np.float32)
    for article in np.unique(articles).tolist():
        theirs = articles == article
        best = similarity[:, theirs].max(axis=1)
        best[theirs] = 0.0  # an article does not vouch for its own sentences
        centrality += best
    top = float(centrality.max())
    if top > 0:
        centrality /= top
    for candidate, central in zip(candidates, centrality.tolist(), strict=True):
        match = len(wanted & candidate.terms) / len(wanted) if wanted else 0.0
        candidate.score = (
            CENTRALITY_WEIGHT * central
            + QUERY_WEIGHT * match
            + ARTICLE_PRIOR / math.sqrt(1 + candidate.article)
            + POOL_PRIOR / (1 + candidate.rank)
        )
    return alike


def likeness(first: frozenset[str], second: frozenset[str]) -> float:
    """How much two sentences say the same: the cosine of their binary term sets."""
    if not first or not second:
        return 0.0
    return len(first & second) / math.sqrt(len(first) * len(second))


def _choose(candidates: list[_Candidate], alike: np.ndarray) -> list[_Candidate]:
    """Pick the briefing's sentences by maximal marginal relevance (see the module);
    `alike` holds the likeness of every pair of candidates."""
    articles = np.array([c.article for c in candidates])
    scores = np.array([c.score for c in candidates])
    lengths = np.array([len(c.text.split()) for c in candidates])
    distinct = min(DISTINCT_ARTICLES, len(set(articles.tolist())))
    open_ = np.ones(len(candidates), dtype=bool)
    overlap = np.zeros(len(candidates))
    chosen: list[int] = []
    taken: dict[int, int] = {}
    words = 0
    while len(chosen) < MAX_SENTENCES:
        eligible = open_ & (overlap <= REDUNDANCY)
        for article, times in taken.items():
            if len(taken) < distinct or times >= MAX_PER_ARTICLE:
                eligible &= articles != article
        if not eligible.any():
            break
        value = np.where(eligible, MMR_LAMBDA * scores - (1 - MMR_LAMBDA) * overlap, -np.inf)
        best = int(np.argmax(value))
        open_[best] = False
        length = int(lengths[best])
        if len(chosen) >= MIN_SENTENCES and words + length > MAX_WORDS:
            continue  # too long to add now; a shorter sentence may still fit
        if len(chosen) >= SENTENCES and words + length > MAX_WORDS * 0.8:
            break
        chosen.append(best)
        taken[int(articles[best])] = taken.get(int(articles[best]), 0) + 1
        words += length
        overlap = np.maximum(overlap, alike[best])
    return [candidates[n] for n in chosen]


def _reading_order(candidate: _Candidate, stored: list) -> tuple:
    """Date order, undated articles last; within an article, the order of its text."""
    date = stored[candidate.article].article.date
    return (
        date == "", date, candidate.article, candidate.pool.paragraph, candidate.pool.position,
    )  # fmt: skip
