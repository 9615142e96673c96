"""One index generation as numpy arrays: what search counts, filters and ranks with.

Whoosh keeps the archive. A search needs, for every matching paragraph, its article and
that article's source, category and date, and for every term its postings; reading
those one document at a time in Python cost a live search hundreds of milliseconds at
100,000 paragraphs. `Tables` reads them once per generation instead, as arrays:

- per document: its article (an ordinal), its paragraph number, whether it is a live
  paragraph (not an article record, not deleted), and each text field's length;
- per article: id, source, category, year and date, the document holding its record,
  and the order newest first;
- per term, on first use and then from a bounded cache: the documents holding the term
  and how often, read block by block from Whoosh's postings.

`evaluate` then turns a parsed Whoosh query into its matching paragraphs and their
scores with array operations: BM25 per term exactly as `store.ParagraphBM25` scores it,
AND as intersection, OR as union (scores added, as Whoosh adds them), NOT as a
difference. Phrases, and any query type not handled here, are run by Whoosh's own
matchers, so they mean what they mean in Whoosh.

A generation never changes once written, so its tables are shared by every thread of
the process (`tables_for`) and dropped when a newer generation replaces them; each
thread reads postings through its own pinned searcher.
"""

from __future__ import annotations

import struct
import threading
import zlib
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from itertools import accumulate, repeat
from pickle import loads

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.query import (
    And,
    AndNot,
    MultiTerm,
    Not,
    NullQuery,
    Or,
    Query,
    Term,
)
from whoosh.util.numeric import byte_to_length
from whoosh.util.numlists import delta_decode

from ..models import StoredArticle

POSTINGS_CACHE_BYTES = 32 * 1024 * 1024  # per generation and process
RECORD_CACHE = 256  # parsed article records kept per generation and process
BLOCK_CACHE = 1024  # postings blocks read for positions (about 10 KB each, decoded)
COMPLETION_CACHE = 4096  # prefixes completed per generation and process
SPELLING_FIELD = "spell_text"  # the text field's words as written (lower-cased, unstemmed)
VOCABULARY_SEGMENTS = 64  # segment vocabularies kept per process
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_LENGTHS[0] = 0.0
NO_DOCS = np.zeros(0, dtype=np.int32)
NO_SCORES = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Matches:
    """Matching documents (sorted, distinct) and their scores, in the same order."""

    docs: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.docs)


NOTHING = Matches(NO_DOCS, NO_SCORES)


class _Codes:
    """Small integer codes for a column's distinct values (sources, categories, years)."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code

    def find(self, value: str) -> int:
        """The value's code, or -1 if no article has it."""
        return self._codes.get(value, -1)


class Tables:
    """The arrays of one index generation (see the module's docstring)."""

    def __init__(self, searcher) -> None:
        reader = searcher.reader()
        self.generation = reader.generation()
        size = reader.doc_count_all()
        self.size = size
        live = np.ones(size, dtype=bool)
        for leaf, offset in reader.leaf_readers():
            deleted = leaf.deleted_docs_set if hasattr(leaf, "deleted_docs_set") else ()
            if deleted:
                live[np.fromiter(deleted, dtype=np.int64) + offset] = False
        ids = _column(reader, "article", size)
        ordinals: dict[str, int] = {}
        self.doc_article = np.fromiter(
            (ordinals.setdefault(i, len(ordinals)) for i in ids), dtype=np.int32, count=size
        )
        self.doc_para = np.array(_column(reader, "para", size) or [], dtype=np.int32)
        records = np.array(sorted(_record_docs(searcher)), dtype=np.int32)
        records = records[live[records]] if len(records) else records
        self.paragraph = live.copy()
        if len(records):
            self.paragraph[records] = False

        # Articles: one ordinal per id ever seen in this generation; the live ones have a
        # live record, whose columns give their source, category and date.
        count = len(ordinals)
        self.article_ids = list(ordinals)
        self._ordinals = ordinals
        self.article_record = np.full(count, -1, dtype=np.int32)
        self.article_live = np.zeros(count, dtype=bool)
        self.sources, self.categories, self.years = _Codes(), _Codes(), _Codes()
        self.authors, self.stories = _Codes(), _Codes()
        self.article_author = np.full(count, -1, dtype=np.int32)
        self.article_story = np.full(count, -1, dtype=np.int32)
        self.article_source = np.full(count, -1, dtype=np.int32)
        self.article_category = np.full(count, -1, dtype=np.int32)
        self.article_year = np.full(count, -1, dtype=np.int32)
        self.article_date: list[str] = [""] * count
        sources = reader.column_reader("source") if size else None
        categories = reader.column_reader("category") if size else None
        dates = reader.column_reader("date") if size else None
        authors = reader.column_reader("author_name") if size else None
        stories = reader.column_reader("story") if size else None
        for doc in records.tolist():
            article = int(self.doc_article[doc])
            self.article_record[article] = doc
            self.article_live[article] = True
            source, category, date = sources[doc], categories[doc], dates[doc]
            self.article_date[article] = date
            if source:
                self.article_source[article] = self.sources.code(source)
            if category:
                self.article_category[article] = self.categories.code(category)
            author = authors[doc]
            if author:
                self.article_author[article] = self.authors.code(author)
            self.article_story[article] = self.stories.code(
                stories[doc] or self.article_ids[article]
            )
            if date:
                self.article_year[article] = self.years.code(date[:4])
        # Dates as sortable numbers (YYYYMMDD; 0 for undated), and the live articles
        # newest first, ties broken by id (descending, as the search has always shown).
        self.article_day = np.array(
            [int(d.replace("-", "")) if d else 0 for d in self.article_date], dtype=np.int32
        )
        live_articles = np.flatnonzero(self.article_live)
        # How many live articles tell each story (versions are the others of a story).
        self.story_size = np.bincount(
            self.article_story[live_articles], minlength=len(self.stories.values)
        )
        self.grouped = bool(len(self.story_size)) and int(self.story_size.max()) > 1
        id_rank = np.empty(count, dtype=np.int32)
        id_rank[np.argsort(np.array(self.article_ids, dtype=object), kind="stable")] = np.arange(
            count, dtype=np.int32
        )
        self.id_rank = id_rank
        self.dated = bool(len(live_articles)) and bool(self.article_day[live_articles].max() > 0)
        order = np.lexsort((-id_rank[live_articles], -self.article_day[live_articles]))
        self.newest_first = live_articles[order]

        self._lengths: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._postings_bytes = 0
        self._blocks: dict[tuple[str, str], dict[int, list]] = {}
        self._records: OrderedDict[int, StoredArticle] = OrderedDict()
        self._blocks_read: OrderedDict[tuple, tuple] = OrderedDict()
        self._frequencies: dict[tuple[str, str], int] = {}
        self._completions: dict[tuple[str, int], list[str]] = {}
        self._lock = threading.Lock()

    # --- per document and per term -----------------------------------------------------

    def lengths(self, searcher, fieldname: str) -> np.ndarray:
        """Each document's length in `fieldname`, as Whoosh stores it (one byte, lossy)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = np.zeros(self.size, dtype=np.float64)
            for leaf, offset in searcher.reader().leaf_readers():
                count = leaf.doc_count_all()
                lengths[offset : offset + count] = _leaf_lengths(leaf, fieldname, count)
            self._lengths[fieldname] = lengths
        return lengths

    def postings(self, searcher, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The live documents holding the term, sorted, and its frequency in each."""
        key = (fieldname, text)
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found
        blocks: dict[int, list] = {}
        found = _read_postings(searcher.reader(), fieldname, text, blocks)
        docs, weights = found
        if len(docs):
            keep = self.paragraph[docs]
            if not keep.all():
                found = (docs[keep], weights[keep])
        with self._lock:
            self._postings[key] = found
            self._blocks[key] = blocks
            self._postings_bytes += found[0].nbytes + found[1].nbytes
            while self._postings_bytes > POSTINGS_CACHE_BYTES and len(self._postings) > 1:
                old, (old_docs, old_weights) = self._postings.popitem(last=False)
                self._blocks.pop(old, None)
                self._postings_bytes -= old_docs.nbytes + old_weights.nbytes
        return found

    def positions(self, searcher, fieldname: str, text: str, docs: list[int]) -> dict:
        """The term's word positions in each of `docs` (sorted) that holds it.

        Only the postings blocks holding those documents are read and decoded: proximity
        needs positions for the best hundred paragraphs, not for every match.
        """
        self.postings(searcher, fieldname, text)  # fills the block table
        blocks = self._blocks.get((fieldname, text), {})
        leaves = searcher.reader().leaf_readers()
        offsets = [offset for _, offset in leaves]
        found: dict[int, list[int]] = {}
        for doc in docs:
            number = bisect_right(offsets, doc) - 1
            table = blocks.get(number)
            if not table:
                continue
            leaf, offset = leaves[number]
            local = doc - offset
            decoded = SEGMENT_POSTINGS.positions_of(leaf, fieldname, text)
            if decoded is not None:  # decoded while warming
                ids, starts, flat = decoded
                place = int(np.searchsorted(ids, local))
                if place < len(ids) and ids[place] == local:
                    found[doc] = flat[starts[place] : starts[place + 1]].tolist()
                continue
            if table[0][0] is None:  # not a block table: ask Whoosh's matcher
                positions = _matcher_positions(leaf, fieldname, text, local)
                if positions:
                    found[doc] = positions
                continue
            which = bisect_left(table, local, key=_block_end)
            if which >= len(table):
                continue
            block = self._block(leaf, (fieldname, text, number, which), table[which][1])
            ids, values = block
            place = bisect_left(ids, local)
            if place < len(ids) and ids[place] == local:
                fmt = leaf.schema[fieldname].format
                found[doc] = fmt.decode_positions(values[place])
        return found

    def _block(self, leaf, key: tuple, where: tuple) -> tuple:
        with self._lock:
            block = self._blocks_read.get(key)
            if block is not None:
                self._blocks_read.move_to_end(key)
                return block
        block = _block(leaf, where)
        with self._lock:
            self._blocks_read[key] = block
            while len(self._blocks_read) > BLOCK_CACHE:
                self._blocks_read.popitem(last=False)
        return block

    def doc_frequency(self, searcher, fieldname: str, text: str) -> int:
        """How many documents hold the term (deleted ones too, as Whoosh counts)."""
        key = (fieldname, text)
        frequency = self._frequencies.get(key)
        if frequency is None:
            frequency = self._frequencies[key] = searcher.doc_frequency(fieldname, text)
        return frequency

    def completions(self, searcher, prefix: str, limit: int) -> list[str]:
        """Up to `limit` words of the archive (unstemmed) that start with `prefix`, the
        ones in most paragraphs first."""
        key = (prefix, limit)
        found = self._completions.get(key)
        if found is not None:
            return found
        counts: dict[str, int] = {}
        end = prefix + "\U0010ffff"
        for leaf, _ in searcher.reader().leaf_readers():
            words, frequencies = _vocabulary(leaf, SPELLING_FIELD)
            low, high = bisect_left(words, prefix), bisect_left(words, end)
            for word, frequency in zip(words[low:high], frequencies[low:high], strict=True):
                counts[word] = counts.get(word, 0) + frequency
        found = sorted(counts, key=lambda word: (-counts[word], word))[:limit]
        with self._lock:
            if len(self._completions) >= COMPLETION_CACHE:
                self._completions.clear()
            self._completions[key] = found
        return found

    def record(self, searcher, docnum: int) -> StoredArticle:
        """The stored article in document `docnum` (parsed once, then from a small cache;
        callers must not change it)."""
        with self._lock:
            stored = self._records.get(docnum)
            if stored is not None:
                self._records.move_to_end(docnum)
                return stored
        stored = StoredArticle.from_json(searcher.stored_fields(docnum)["record"])
        with self._lock:
            self._records[docnum] = stored
            while len(self._records) > RECORD_CACHE:
                self._records.popitem(last=False)
        return stored

    # --- per article -------------------------------------------------------------------

    def ordinal(self, article_id: str) -> int | None:
        """The ordinal of a live article, by id, or None."""
        found = self._ordinals.get(article_id)
        return found if found is not None and self.article_live[found] else None

    def one_per_story(self, ordered: np.ndarray) -> np.ndarray:
        """The first article of each story in `ordered` (article ordinals), in order."""
        if not len(ordered):
            return ordered
        _, first = np.unique(self.article_story[ordered], return_index=True)
        return ordered[np.sort(first)]

    def versions_of(self, article: int) -> np.ndarray:
        """The other live articles of this article's story (ordinals, newest first)."""
        story = self.article_story[article]
        if story < 0 or self.story_size[story] < 2:
            return np.zeros(0, dtype=np.int32)
        others = np.flatnonzero((self.article_story == story) & self.article_live)
        others = others[others != article]
        return others[np.lexsort((-self.id_rank[others], -self.article_day[others]))]

    def articles_of(self, docs: np.ndarray) -> np.ndarray:
        """The distinct articles of these documents, as ordinals, sorted."""
        return np.unique(self.doc_article[docs])

    def passing(
        self,
        articles: np.ndarray,
        *,
        source: str = "",
        category: str = "",
        author: str = "",
        date_from: str = "",
        date_to: str = "",
    ) -> np.ndarray:
        """A mask over `articles`: those with this source, category, author and date range."""
        keep = self.article_live[articles]
        if source:
            keep &= self.article_source[articles] == self.sources.find(source)
        if category:
            keep &= self.article_category[articles] == self.categories.find(category)
        if author:
            keep &= self.article_author[articles] == self.authors.find(author)
        if date_from or date_to:
            days = self.article_day[articles]
            keep &= days > 0
            if date_from:
                keep &= days >= int(date_from.replace("-", ""))
            if date_to:
                keep &= days <= int(date_to.replace("-", ""))
        return keep


def _column(reader, name: str, size: int) -> list:
    if not size:
        return []
    return list(reader.column_reader(name))


def _record_docs(searcher) -> list[int]:
    """Every document number holding an article record (deleted ones too)."""
    docs: list[int] = []
    reader = searcher.reader()
    for leaf, offset in reader.leaf_readers():
        if ("kind", b"article") in leaf:
            kind = leaf.schema["kind"].format
            ids, _ = _matcher_arrays(leaf._terms.matcher("kind", b"article", kind))
            docs.extend((ids + offset).tolist())
    return docs


def _leaf_lengths(leaf, fieldname: str, count: int) -> np.ndarray:
    """One segment's field lengths, decoded from Whoosh's one-byte length column."""
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(count, dtype=np.float64)
        stored = column._count
        raw = column._dbfile.get(column._basepos, stored) if stored else b""
        codes = np.zeros(count, dtype=np.uint8)
        codes[: min(stored, count)] = np.frombuffer(raw, dtype=np.uint8)[:count]
        return _LENGTHS[codes]
    except AttributeError:  # another codec: ask document by document
        return np.array(
            [leaf.doc_field_length(n, fieldname) or 0 for n in range(count)], dtype=np.float64
        )


def _block_end(entry: tuple) -> int:
    return entry[0]


def _block(leaf, where: tuple) -> tuple:
    """A postings block's ids and values (positions, encoded), read from the file."""
    start, end, compression = where
    data = leaf._terms._postfile.get(start, end - start)
    if compression:
        data = zlib.decompress(data)
    ids, _, values = loads(data)[:3]
    return tuple(delta_decode(ids)), values


def _matcher_positions(leaf, fieldname: str, text: str, local: int) -> list[int]:
    btext = leaf._text_to_bytes(fieldname, text)
    matcher = leaf._terms.matcher(fieldname, btext, leaf.schema[fieldname].format)
    matcher.skip_to(local)
    if matcher.is_active() and matcher.id() == local:
        return list(matcher.value_as("positions"))
    return []


def _read_postings(
    reader, fieldname: str, text: str, blocks: dict[int, list]
) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in every segment, as global document numbers (deleted documents
    included); fill `blocks` with each segment's block table (by its place among the
    leaves). Each segment's part comes from the segment cache when it is there."""
    parts_docs, parts_weights = [], []
    for number, (leaf, offset) in enumerate(reader.leaf_readers()):
        found = SEGMENT_POSTINGS.get(leaf, fieldname, text)
        if found is None:
            continue
        ids, weights, table = found
        blocks[number] = table
        parts_docs.append(ids + offset)
        parts_weights.append(weights)
    if not parts_docs:
        return NO_DOCS, NO_SCORES
    if len(parts_docs) == 1:
        return parts_docs[0].astype(np.int32), parts_weights[0].astype(np.float64)
    return (
        np.concatenate(parts_docs).astype(np.int32),
        np.concatenate(parts_weights).astype(np.float64),
    )


def _segment_id(leaf) -> str:
    segment = leaf.segment()
    return segment.segment_id() if segment is not None else f"reader-{id(leaf)}"


class SegmentPostings:
    """Postings read from segments, kept across generations (a segment never changes).

    Keyed by segment, field and term: the segment's ids (local, deleted documents
    included), frequencies and block table. Bounded by `budget` bytes, least recently
    used first out. `warm` fills it ahead of the searches with the longest lists, the
    ones that cost most to read: Whoosh unpickles every block with all its positions.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._entries: OrderedDict[tuple[str, str, str], tuple] = OrderedDict()
        # Positions decoded while warming, for the proximity bonus: they leave with their
        # term's entry.
        self._positions: dict[tuple[str, str, str], tuple] = {}
        self._lock = threading.Lock()

    def get(self, leaf, fieldname: str, text: str) -> tuple | None:
        """The term's postings in this segment, read now if they are not kept; None if the
        segment does not have the term."""
        key = (_segment_id(leaf), fieldname, text)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        if fieldname not in leaf.schema:
            return None
        btext = leaf._text_to_bytes(fieldname, text)
        if (fieldname, btext) not in leaf:
            return None
        return self._read(leaf, key, btext)

    def _read(
        self, leaf, key: tuple[str, str, str], btext: bytes, values: list | None = None
    ) -> tuple:
        fieldname = key[1]
        matcher = leaf._terms.matcher(fieldname, btext, leaf.schema[fieldname].format)
        table: list = []
        ids, weights = _matcher_arrays(matcher, table, values)
        found = (ids.astype(np.int32), weights.astype(np.float32), table)
        size = found[0].nbytes + found[1].nbytes + 64 * len(table)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = found
                self.used += size
                while self.used > self.budget and len(self._entries) > 1:
                    old, (old_ids, old_weights, old_table) = self._entries.popitem(last=False)
                    self.used -= old_ids.nbytes + old_weights.nbytes + 64 * len(old_table)
                    decoded = self._positions.pop(old, None)
                    if decoded is not None:
                        self.used -= decoded[1].nbytes + decoded[2].nbytes
        return found

    def positions_of(self, leaf, fieldname: str, text: str) -> tuple | None:
        """The term's ids and positions in this segment (as offsets into one flat array),
        if warming decoded them; else None."""
        return self._positions.get((_segment_id(leaf), fieldname, text))

    def _decode_positions(
        self, leaf, key: tuple[str, str, str], ids: np.ndarray, values: list
    ) -> None:
        """Keep the term's positions in this segment, decoded from its postings' values."""
        fmt = leaf.schema[key[1]].format
        if len(values) != len(ids) or not fmt.supports("positions"):
            return  # not read block by block (inlined postings): the blocks path serves
        counts: list[int] = []
        flat: list[int] = []
        for value in values:
            positions = fmt.decode_positions(value)
            counts.append(len(positions))
            flat.extend(positions)
        starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        decoded = (ids, starts, np.array(flat, dtype=np.int32))
        size = decoded[1].nbytes + decoded[2].nbytes
        with self._lock:
            if key in self._entries and self.used + size <= self.budget:
                self._positions[key] = decoded
                self.used += size

    def warm(self, reader, fields: tuple[str, ...], least: int = 128) -> int:
        """Read the postings of every term in `fields` held by at least `least` documents
        of a segment, the longest lists first, until the budget is spent; return how many
        postings lists were read."""
        wanted = []
        for leaf, _ in reader.leaf_readers():
            for fieldname in fields:
                if fieldname not in leaf.schema:
                    continue
                try:
                    words, frequencies = _raw_vocabulary(leaf._terms, fieldname)
                except AttributeError:  # another codec: nothing to warm cheaply
                    continue
                wanted.extend(
                    (frequency, leaf, fieldname, word)
                    for word, frequency in zip(words, frequencies, strict=True)
                    if frequency >= least
                )
        wanted.sort(key=lambda item: -item[0])
        read = 0
        spent = 0
        for frequency, leaf, fieldname, word in wanted:
            spent += frequency * 8
            if spent > self.budget * 0.9:
                break
            key = (_segment_id(leaf), fieldname, word)
            if key in self._entries:
                continue
            # Positions too, from the same blocks, while about three per posting fit.
            spent += frequency * 12 if fieldname in POSITION_FIELDS else 0
            values: list | None = [] if fieldname in POSITION_FIELDS else None
            if spent > self.budget * 0.9:
                values = None
            ids = self._read(leaf, key, word.encode("utf-8"), values)[0]
            read += 1
            if values is not None:
                self._decode_positions(leaf, key, ids, values)
        return read


POSTINGS_BUDGET = 256 * 1024 * 1024  # per process, across generations
POSITION_FIELDS = ("text",)  # the field the proximity bonus reads positions from
SEGMENT_POSTINGS = SegmentPostings(POSTINGS_BUDGET)


def _matcher_arrays(
    matcher, blocks: list | None = None, values: list | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All ids and weights of a raw segment matcher (deleted documents included).

    With `blocks`, each postings block's last id and where its data sits in the postings
    file are appended to it, so that positions can later be read for a few documents; with
    `values`, each posting's encoded value (its positions), from the same unpickled blocks.
    """
    ids: list[int] = []
    weights: list[float] = []
    if isinstance(matcher, W3LeafMatcher):
        # Block by block: each block's ids and weights come out of one unpickled tuple.
        while matcher.is_active():
            matcher._read_data()
            deltas, block_weights = matcher._data[0], matcher._data[1]
            ids.extend(accumulate(deltas))
            if block_weights is None:
                weights.extend(repeat(1.0, len(deltas)))
            elif isinstance(block_weights, float):
                weights.extend(repeat(block_weights, len(deltas)))
            else:
                weights.extend(block_weights)
            if blocks is not None:
                where = (matcher._dataoffset, matcher._nextoffset, matcher._compression)
                blocks.append((matcher._maxid, where))
            if values is not None:
                matcher._read_values()
                values.extend(matcher._values)
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        if blocks is not None:
            blocks.append((None, None))  # no block table: positions come from a matcher
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


# --- evaluating a query -----------------------------------------------------------------


def evaluate(tables: Tables, searcher, query: Query, weighting) -> Matches:
    """The live paragraphs matching `query`, with their scores (see the module docstring)."""
    return _Evaluator(tables, searcher, weighting).run(query)


def term_scores(tables: Tables, searcher, fieldname: str, text: str, docs: np.ndarray) -> list:
    """The term's BM25 score in each of `docs` (0 where it does not occur)."""
    found = _Evaluator(tables, searcher, searcher.weighting).term(fieldname, text)
    if not len(found):
        return [0.0] * len(docs)
    place = np.minimum(np.searchsorted(found.docs, docs), len(found.docs) - 1)
    return np.where(found.docs[place] == docs, found.scores[place], 0.0).tolist()


class _Evaluator:
    def __init__(self, tables: Tables, searcher, weighting) -> None:
        self.tables = tables
        self.searcher = searcher
        self.weighting = weighting
        self._parent = searcher.get_parent()

    def run(self, query: Query) -> Matches:
        if query is NullQuery:
            return NOTHING
        if isinstance(query, Not):  # a lone NOT: every paragraph without it
            everything = np.flatnonzero(self.tables.paragraph).astype(np.int32)
            excluded = self.run(query.query).docs
            docs = np.setdiff1d(everything, excluded, assume_unique=True)
            return Matches(docs, np.zeros(len(docs)))
        if isinstance(query, Term):
            return self.term(query.fieldname, query.text, query.boost)
        if isinstance(query, And):
            return self.intersection(query)
        if isinstance(query, Or):
            return self.union([self.run(child) for child in query.children()], query.boost)
        if isinstance(query, AndNot):
            positive = self.run(query.a)
            excluded = self.run(query.b).docs
            keep = ~np.isin(positive.docs, excluded, assume_unique=True)
            return Matches(positive.docs[keep], positive.scores[keep])
        if isinstance(query, MultiTerm):
            return self.expansion(query)
        return self.whoosh(query)

    def term(self, fieldname: str, text, boost: float = 1.0) -> Matches:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        docs, frequencies = self.tables.postings(self.searcher, fieldname, text)
        if not len(docs):
            return NOTHING
        model = self.weighting
        idf = model.idf(_Frequencies(self.tables, self.searcher), fieldname, text)
        average = self._parent.field_length(fieldname) / _paragraphs(self._parent) or 1
        lengths = self.tables.lengths(self.searcher, fieldname)[docs]
        norm = model.K1 * ((1 - model.B) + model.B * lengths / average)
        scores = idf * (frequencies * (model.K1 + 1)) / (frequencies + norm)
        if boost != 1.0:
            scores = scores * boost
        return Matches(docs, scores)

    def intersection(self, query: And) -> Matches:
        positives = [c for c in query.children() if not isinstance(c, Not)]
        negatives = [c.query for c in query.children() if isinstance(c, Not)]
        if not positives:
            return NOTHING
        parts = sorted((self.run(child) for child in positives), key=len)
        docs = parts[0].docs
        for part in parts[1:]:
            if not len(docs):
                break
            docs = np.intersect1d(docs, part.docs, assume_unique=True)
        for negative in negatives:
            if not len(docs):
                break
            docs = docs[~np.isin(docs, self.run(negative).docs, assume_unique=True)]
        scores = np.zeros(len(docs))
        for part in parts:
            scores += part.scores[np.searchsorted(part.docs, docs)]
        if query.boost != 1.0:
            scores *= query.boost
        return Matches(docs, scores)

    def union(self, parts: list[Matches], boost: float = 1.0) -> Matches:
        parts = [part for part in parts if len(part)]
        if not parts:
            return NOTHING
        if len(parts) == 1:
            only = parts[0]
            return only if boost == 1.0 else Matches(only.docs, only.scores * boost)
        docs, where = np.unique(np.concatenate([p.docs for p in parts]), return_inverse=True)
        scores = np.bincount(
            where, weights=np.concatenate([p.scores for p in parts]), minlength=len(docs)
        )
        if boost != 1.0:
            scores *= boost
        return Matches(docs.astype(np.int32), scores)

    def expansion(self, query: MultiTerm) -> Matches:
        """A prefix, wildcard or fuzzy term: every term it stands for, scores added (what
        Whoosh's own matcher gives for them)."""
        reader = self.searcher.reader()
        words = [w for w in query._btexts(reader) if w]
        return self.union([self.term(query.field(), w, query.boost) for w in words])

    def whoosh(self, query: Query) -> Matches:
        """Any other query (a phrase, above all): Whoosh's matcher, read to the end."""
        matcher = query.matcher(self.searcher, self.searcher.context())
        docs: list[int] = []
        scores: list[float] = []
        while matcher.is_active():
            docs.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
        found = np.array(docs, dtype=np.int32)
        values = np.array(scores, dtype=np.float64)
        if len(found):
            keep = self.tables.paragraph[found]
            found, values = found[keep], values[keep]
        return Matches(found, values)


class _Frequencies:
    """A searcher whose document frequencies come from the tables' cache (for idf)."""

    def __init__(self, tables: Tables, searcher) -> None:
        self._tables = tables
        self._searcher = searcher

    def doc_frequency(self, fieldname: str, text: str) -> int:
        return self._tables.doc_frequency(self._searcher, fieldname, text)

    def get_parent(self):
        return self._searcher.get_parent()


def _paragraphs(parent) -> int:
    from .workarounds import paragraph_count

    return paragraph_count(parent)


# --- vocabularies, by segment ------------------------------------------------------------

_VOCABULARIES: OrderedDict[tuple[str, str], tuple[list[str], list[int]]] = OrderedDict()
_VOCABULARIES_LOCK = threading.Lock()


def vocabulary(leaf) -> tuple[list[str], list[int]]:
    """The segment's words as written (the spelling field), for completing typed words."""
    return _vocabulary(leaf, SPELLING_FIELD)


def _vocabulary(leaf, fieldname: str) -> tuple[list[str], list[int]]:
    """A segment's words in `fieldname`, sorted, and how many documents hold each.

    A segment never changes once written, so its vocabulary is read once per process
    (about 10 µs a word) and reused by every later generation that still has it.
    """
    segment = leaf.segment()
    key = (segment.segment_id() if segment is not None else str(id(leaf)), fieldname)
    found = _VOCABULARIES.get(key)
    if found is not None:
        return found
    words: list[str] = []
    frequencies: list[int] = []
    if fieldname in leaf.schema:
        try:
            words, frequencies = _raw_vocabulary(leaf._terms, fieldname)
        except AttributeError:  # another codec than whoosh3's: the public, slower way
            for word, info in leaf.iter_field(fieldname):
                words.append(word.decode("utf-8") if isinstance(word, bytes) else word)
                frequencies.append(info.doc_frequency())
    found = (words, frequencies)
    with _VOCABULARIES_LOCK:
        _VOCABULARIES[key] = found
        while len(_VOCABULARIES) > VOCABULARY_SEGMENTS:
            _VOCABULARIES.popitem(last=False)
    return found


_DOC_FREQUENCY = struct.Struct("!I")  # in a whoosh3 term info: after a flag byte and a float


def _raw_vocabulary(terms, fieldname: str) -> tuple[list[str], list[int]]:
    """Read a whoosh3 term dictionary's keys for one field, and each term's document
    frequency straight from its packed term info (three times faster than decoding it)."""
    start = terms._keycoder(fieldname, b"")
    words: list[str] = []
    frequencies: list[int] = []
    unpack = _DOC_FREQUENCY.unpack_from
    for key, info in terms._tindex.items_from(start):
        if not key.startswith(start):
            break
        words.append(key[len(start) :].decode("utf-8"))
        frequencies.append(unpack(info, 5)[0])
    return words, frequencies


# --- sharing tables between threads -------------------------------------------------------

KEEP_GENERATIONS = 2  # per process: the newest, and the one a long request may still read
_TABLES: OrderedDict[tuple[str, int | None], Tables] = OrderedDict()
_TABLES_LOCK = threading.Lock()


def tables_for(path: str, searcher) -> Tables:
    """The tables of the searcher's generation, built once per process and index folder."""
    key = (path, searcher.reader().generation())
    tables = _TABLES.get(key)
    if tables is not None:
        return tables
    with _TABLES_LOCK:
        tables = _TABLES.get(key)
        if tables is None:
            tables = _TABLES[key] = Tables(searcher)
            while len(_TABLES) > KEEP_GENERATIONS:
                _TABLES.popitem(last=False)
    return tables
