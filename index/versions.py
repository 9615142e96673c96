"""Duplicates and versions: which articles tell the same story.

An archive gathers the same story more than once: the same wire copy under
several sources, a re-headlined or lightly edited copy, a shortened version, a
later update that keeps most of the earlier text. At ingest each article gets a
`Fingerprint`: the set of its body's word shingles (runs of `SHINGLE_WORDS`
normalised words), a MinHash of that set (datasketch) and from it a few short
`bands` tokens, one per LSH band. Two articles that share a band token are
*candidates*; they are only put in the same story after `same_story` compares
their shingle sets exactly. So finding a new article's story never compares
every pair: it is a lookup of a few tokens (in a dict here, in the search
index's keyword field in the archive) and an exact check of the few articles
that come back.

The flow, for the archive and for one ingest batch alike:

    fingerprint(article.title, article.paragraphs)  ->  Fingerprint (.bands)
    articles sharing a band token                   ->  candidates
    same_story(new, candidate) for each candidate   ->  matches(...), closest first
    placement(article_id, matches)                  ->  the story key (and stories merged)

`StoryFinder` does this in memory (the benchmark, one ingest batch). Band tokens
depend only on the text and the constants below (fixed seed, SHA-1 shingle
hashes, an explicit datasketch permutation scheme), so they are the same in
every process; `SCHEME` names those choices, and changing any of them means
fingerprinting the archive again.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # datasketch is imported when the first article is fingerprinted
    from datasketch import MinHash

    from .models import Article

# --- shingles ---------------------------------------------------------------------------------

# Five-word shingles. One edited word changes at most five of them, so a copy with a few
# edits per paragraph keeps most of its shingles (BBC paragraphs average 79 words: three
# edits leave about 80% of a paragraph's shingles intact); yet a run of five words is long
# enough that separate reports on one topic rarely share one outside quotations and stock
# phrases ("said the prime minister" is four words). On the BBC set the closest pair of
# different stories resembles at 0.37, and 99% of copies with 1-3 edits per paragraph
# at 0.56 or more (3 and 4 words give a little more room on such edits, at the price of
# more shared stock phrases between short texts).
SHINGLE_WORDS = 5

# The lead: the body's first words. A shortened copy or a longer version of the same text
# starts the same way; a round-up that quotes a story in its middle does not.
LEAD_WORDS = 50

# --- the decision (exact, on shingle sets) ----------------------------------------------------

# Two long articles (the smaller one with at least LONG_SHINGLES shingles, about a
# 100-word body) are the same story when they resemble each other this much (Jaccard)...
SAME_RESEMBLANCE = 0.5
# ... or when this share of the smaller one's shingles is in the larger one and their leads
# resemble at least LEAD_RESEMBLANCE: a shortened copy, or a longer version that adds to the
# same text. The lead condition keeps a story apart from a round-up that quotes it in the
# middle, and so keeps two stories quoted by one round-up from joining through it.
SAME_CONTAINMENT = 0.8
LEAD_RESEMBLANCE = 0.5
LONG_SHINGLES = 100
# A short article (fewer than LONG_SHINGLES): a body this small can't tell an edited copy
# from a stock brief filled in with another name or score, so it joins a story only when it
# is (all but an edge word) inside the other article *and* the normalised titles are equal.
SHORT_CONTAINMENT = 0.95
# A brief of fewer than this many shingles joins only an identical article (title and body).
BRIEF_SHINGLES = 20

# --- MinHash and LSH bands ---------------------------------------------------------------------

# 24 bands of 2 rows over the body: a pair that resembles at 0.5 shares a band with
# probability 0.999 (0.9999 at 0.6), at 0.35 (an update with a new top) 0.956, while
# an unrelated pair at 0.1 becomes a candidate with probability 0.21 and at 0.05 with 0.06.
# (datasketch's optimal-parameter search for threshold 0.3 with false negatives weighted
# 0.7 gives 19 x 2 for 40 to 64 permutations; 24 x 2 buys recall at 0.5 for five tokens.)
BODY_BANDS = 24
BODY_ROWS = 2
# 4 bands of 4 rows over the MinHash of the body's first LEAD_BAND_WORDS words: they find a
# shortened copy whose resemblance to the whole is too low for the body's bands. Any copy
# `same_story` can accept has at least BRIEF_SHINGLES shingles, so it holds all of these
# words: an unedited start matches all four bands; a start that resembles at 0.5 matches
# with probability 0.23, at 0.3 with 0.03.
LEAD_BAND_WORDS = BRIEF_SHINGLES + SHINGLE_WORDS - 1
LEAD_BANDS = 4
LEAD_ROWS = 4
NUM_PERM = BODY_BANDS * BODY_ROWS  # the start's bands use the first LEAD_BANDS * LEAD_ROWS
SEED = 20041
MINHASH_SCHEME = "affine32"  # named, not defaulted: datasketch 2.0 changed its default
# At most this many candidates are checked exactly, those sharing the most bands first.
MAX_CANDIDATES = 50

SCHEME = (
    f"shingle{SHINGLE_WORDS}-lead{LEAD_BAND_WORDS}-mh{NUM_PERM}-{MINHASH_SCHEME}-seed{SEED}"
    f"-b{BODY_BANDS}x{BODY_ROWS}-l{LEAD_BANDS}x{LEAD_ROWS}-v1"
)
_TOKEN_HASH_KEY = hashlib.sha256(SCHEME.encode()).digest()[:16]

_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
_NUMBER_GLUE = re.compile(r"(?<=\d)[.,](?=\d)")
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Return the words of `text` as shingles see them: casefolded, no punctuation.

    Apostrophes and the separators inside numbers are dropped ("don't" -> "dont",
    "4.75" -> "475"); every other non-word character separates words.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NUMBER_GLUE.sub("", _APOSTROPHES.sub("", text))
    return _WORD.findall(text)


def shingles(paragraphs: Sequence[str], size: int = SHINGLE_WORDS) -> frozenset[str]:
    """Return the set of `size`-word runs of the body, read straight across paragraphs.

    Reading across paragraph breaks makes a copy whose paragraphs were split or joined
    differently look the same. A body shorter than `size` words is one shingle.
    """
    return frozenset(_runs(words("\n".join(paragraphs)), size))


def _runs(body: list[str], size: int = SHINGLE_WORDS) -> list[str]:
    """Return the `size`-word runs of a list of words, in order."""
    if len(body) <= size:
        return [" ".join(body)] if body else []
    return [" ".join(body[i : i + size]) for i in range(len(body) - size + 1)]


# --- fingerprints ----------------------------------------------------------------------------


def _passthrough(value: int) -> int:
    """Return a shingle's hash as it is: shingles are hashed once, before the MinHash."""
    return value


@cache
def _blank_minhash() -> MinHash:
    """Return an empty MinHash with the fixed permutations (made once per process)."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=MINHASH_SCHEME, hashfunc=_passthrough)


def _minhash(hashes: list[int]) -> MinHash:
    minhash = _blank_minhash().copy()
    minhash.update_batch(hashes)
    return minhash


def _band_tokens(kind: str, values: np.ndarray, bands: int, rows: int) -> list[str]:
    """Return one token per band: the kind, the band number and 48 bits of a keyed hash."""
    data = values[: bands * rows].astype("<u4").tobytes()
    width = 4 * rows
    return [
        f"{kind}{band:02d}"
        + hashlib.blake2b(
            data[band * width : (band + 1) * width], digest_size=6, key=_TOKEN_HASH_KEY
        ).hexdigest()
        for band in range(bands)
    ]


def band_keys(tokens: Sequence[str]) -> np.ndarray:
    """The band tokens as 64-bit numbers (kind, band number and the 48-bit hash), for a
    compact table of every stored article's bands."""
    return np.array(
        [
            ((0 if token[0] == "b" else 1) << 60) | (int(token[1:3]) << 52) | int(token[3:], 16)
            for token in tokens
        ],
        dtype=np.uint64,
    )


class BandTable:
    """The band keys of the articles stored so far, by article id: sorted 64-bit keys and
    their owners, so that the candidates of a new article are a few binary searches
    rather than index lookups. Built from the archive's `bands` column when a write run
    starts, and told about each batch as it is written."""

    MIN_SHARED = 2  # bands a candidate must share (a pair at resemblance 0.5 shares 6)

    def __init__(self, keys: np.ndarray, owners: np.ndarray, ids: list[str]) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys, self._owners, self._ids = keys[order], owners[order], ids
        self._added: dict[int, list[int]] = defaultdict(list)

    @classmethod
    def from_packed(cls, packed: Iterable[tuple[str, bytes]]) -> BandTable:
        """Build from (article id, `np.uint64` keys as bytes) pairs."""
        ids: list[str] = []
        parts: list[np.ndarray] = []
        for article_id, blob in packed:
            if blob:
                parts.append(np.frombuffer(blob, dtype="<u8"))
                ids.append(article_id)
        if not parts:
            return cls(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32), [])
        owners = np.repeat(np.arange(len(ids), dtype=np.int32), [len(p) for p in parts])
        return cls(np.concatenate(parts).astype(np.uint64), owners, ids)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, article_id: str, keys: np.ndarray) -> None:
        """Remember a newly stored article's keys."""
        self._ids.append(article_id)
        for key in keys.tolist():
            self._added[key].append(len(self._ids) - 1)

    def candidates(self, keys: np.ndarray, limit: int = MAX_CANDIDATES) -> list[str]:
        """Ids of the stored articles sharing at least MIN_SHARED bands with `keys`, most
        shared first (at most `limit`)."""
        shared: Counter[int] = Counter()
        low = np.searchsorted(self._keys, keys, side="left")
        high = np.searchsorted(self._keys, keys, side="right")
        for start, end, key in zip(low.tolist(), high.tolist(), keys.tolist(), strict=True):
            if end > start:
                shared.update(self._owners[start:end].tolist())
            shared.update(self._added.get(key, ()))
        return [
            self._ids[owner]
            for owner, count in shared.most_common(limit)
            if count >= self.MIN_SHARED
        ]


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What story detection knows about one article.

    `shingles` is the exact set compared by `same_story`; `lead` holds the shingles of
    the body's first `LEAD_WORDS` words; `minhash` estimates the shingles in `NUM_PERM`
    numbers (None for a body without words); `bands` are short tokens of lowercase
    letters and digits, fit for a keyword field, one per LSH band of the body and of its
    start: articles that share any token are candidates for the same story. `headline`
    is the title as words, used only to keep short articles apart.
    """

    shingles: frozenset[str]
    lead: frozenset[str]
    headline: str
    minhash: MinHash | None
    bands: list[str]

    def __len__(self) -> int:
        return len(self.shingles)


def fingerprint(title: str, paragraphs: Sequence[str]) -> Fingerprint:
    """Fingerprint an article from its title and body paragraphs.

    The title does not enter the shingles (re-headlining is the commonest change between
    copies of a story); it is kept as words for the short-article rule.
    """
    body = words("\n".join(paragraphs))
    headline = " ".join(words(title))
    runs = _runs(body)
    if not runs:
        return Fingerprint(frozenset(), frozenset(), headline, None, [])
    from datasketch.hashfunc import sha1_hash32

    # Each run hashed once; the lead's runs are the first ones of the body.
    lead = runs[: max(1, LEAD_WORDS - SHINGLE_WORDS + 1)]
    hashes = [sha1_hash32(run.encode("utf-8")) for run in runs]
    minhash = _minhash(hashes)
    start = _minhash(hashes[: max(1, LEAD_BAND_WORDS - SHINGLE_WORDS + 1)])
    bands = _band_tokens("b", minhash.hashvalues, BODY_BANDS, BODY_ROWS)
    bands += _band_tokens("l", start.hashvalues, LEAD_BANDS, LEAD_ROWS)
    return Fingerprint(frozenset(runs), frozenset(lead), headline, minhash, bands)


def fingerprint_article(article: Article) -> Fingerprint:
    """Fingerprint an `Article` (its title and body paragraphs)."""
    return fingerprint(article.title, article.paragraphs)


# --- the decision ----------------------------------------------------------------------------


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def resemblance(a: Fingerprint, b: Fingerprint) -> float:
    """Return the exact Jaccard similarity of the two shingle sets (0 when either is empty)."""
    return _jaccard(a.shingles, b.shingles)


def lead_resemblance(a: Fingerprint, b: Fingerprint) -> float:
    """Return the exact Jaccard similarity of the two leads' shingle sets."""
    return _jaccard(a.lead, b.lead)


def containment(a: Fingerprint, b: Fingerprint) -> float:
    """Return the share of the smaller article's shingles found in the other one."""
    if not a.shingles or not b.shingles:
        return 0.0
    return len(a.shingles & b.shingles) / min(len(a.shingles), len(b.shingles))


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    """Tell whether two articles are copies or versions of one story.

    Long articles: resemblance >= SAME_RESEMBLANCE, or containment >= SAME_CONTAINMENT
    with leads that resemble at least LEAD_RESEMBLANCE.
    Short ones (fewer than LONG_SHINGLES): containment >= SHORT_CONTAINMENT and the same
    title. Briefs (fewer than BRIEF_SHINGLES): the same title and the same body.
    """
    smaller = min(len(a.shingles), len(b.shingles))
    if smaller == 0:
        return False
    if smaller < BRIEF_SHINGLES:
        return a.shingles == b.shingles and a.headline == b.headline
    if smaller < LONG_SHINGLES:
        return a.headline == b.headline and containment(a, b) >= SHORT_CONTAINMENT
    if resemblance(a, b) >= SAME_RESEMBLANCE:
        return True
    return containment(a, b) >= SAME_CONTAINMENT and lead_resemblance(a, b) >= LEAD_RESEMBLANCE


@dataclass(frozen=True)
class Match:
    """An earlier article found to tell the same story, and how close it is."""

    article_id: str
    story: str
    resemblance: float
    containment: float


def matches(new: Fingerprint, candidates: Iterable[tuple[str, str, Fingerprint]]) -> list[Match]:
    """Check (article id, story key, fingerprint) candidates exactly; keep the same stories.

    Candidates come from a band lookup, in the archive's index or in a `StoryFinder`. The
    result is closest first: most resemblance, then most containment, then by id.
    """
    found = [
        Match(article_id, story, resemblance(new, other), containment(new, other))
        for article_id, story, other in candidates
        if same_story(new, other)
    ]
    found.sort(key=lambda m: (-m.resemblance, -m.containment, m.article_id))
    return found


@dataclass(frozen=True)
class Placement:
    """Where a new article goes: its story, and the stories it links into that one.

    `merged` holds the keys of other stories the article also matched: their articles
    now belong to `story` (the caller re-keys them). `match` is the closest article, or
    None when the article starts a story of its own.
    """

    story: str
    merged: list[str]
    match: Match | None


def placement(article_id: str, found: Sequence[Match]) -> Placement:
    """Decide the story of a new article from its matches (closest first).

    It joins the story of the closest match; any other story it matched is merged into
    that one, so a story is every article linked to it by a checked match, whatever the
    order they came in. With no match the article starts a story keyed by its own id.
    """
    if not found:
        return Placement(article_id, [], None)
    story = found[0].story
    merged = list(dict.fromkeys(m.story for m in found if m.story != story))
    return Placement(story, merged, found[0])


class StoryFinder:
    """Stories of the articles added so far, kept in memory (a benchmark, an ingest batch).

    `add` looks up the new article's band tokens, checks the candidates exactly and puts
    the article in the story of the closest one (merging any other story it matched), or
    starts a story keyed by its own id. A story key is always the id of one of the
    story's articles.
    """

    def __init__(self, max_candidates: int = MAX_CANDIDATES) -> None:
        self.max_candidates = max_candidates
        self._by_band: dict[str, list[str]] = defaultdict(list)
        self._fingerprints: dict[str, Fingerprint] = {}
        self._stories: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._fingerprints)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._fingerprints

    def candidates(self, new: Fingerprint) -> list[str]:
        """Return the ids of articles sharing a band with `new`, most shared bands first."""
        shared: Counter[str] = Counter()
        for token in new.bands:
            shared.update(self._by_band.get(token, ()))
        return [article_id for article_id, _ in shared.most_common(self.max_candidates)]

    def matches(self, new: Fingerprint) -> list[Match]:
        """Return the articles added so far that tell the same story, closest first."""
        return matches(
            new, ((i, self._stories[i], self._fingerprints[i]) for i in self.candidates(new))
        )

    def place(self, article_id: str, new: Fingerprint, also: Sequence[Match] = ()) -> Placement:
        """Add an article and return where it went (see `placement`); `also` holds matches
        found elsewhere (in the archive), weighed with those found here.

        Adding an id again replaces the earlier version of that article.
        """
        if article_id in self._fingerprints:
            self.remove(article_id)
        found = sorted(
            [*self.matches(new), *also],
            key=lambda m: (-m.resemblance, -m.containment, m.article_id),
        )
        where = placement(article_id, found)
        for old in where.merged:
            for member in self._members.pop(old, []):
                self._stories[member] = where.story
                # The story may be one found elsewhere (`also`), new to this finder.
                self._members.setdefault(where.story, []).append(member)
        self._fingerprints[article_id] = new
        self._stories[article_id] = where.story
        self._members.setdefault(where.story, []).append(article_id)
        for token in new.bands:
            self._by_band[token].append(article_id)
        return where

    def add(self, article_id: str, new: Fingerprint) -> str:
        """Add an article and return its story key (its own id when its story is new)."""
        return self.place(article_id, new).story

    def remove(self, article_id: str) -> None:
        """Forget an article; a story it gave its key to takes the next article's id."""
        old = self._fingerprints.pop(article_id)
        story = self._stories.pop(article_id)
        members = self._members.pop(story)
        members.remove(article_id)
        if members:
            key = members[0] if story == article_id else story
            self._members[key] = members
            for member in members:
                self._stories[member] = key
        for token in old.bands:
            holders = self._by_band[token]
            holders.remove(article_id)
            if not holders:
                del self._by_band[token]

    def story_of(self, article_id: str) -> str:
        """Return the story key of an article added earlier."""
        return self._stories[article_id]

    def stories(self) -> dict[str, list[str]]:
        """Return every story key with the ids of its articles."""
        return {story: list(members) for story, members in self._members.items()}
