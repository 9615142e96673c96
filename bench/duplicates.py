"""Benchmark: finding copies and versions of a story (index.versions) on the BBC set.

The BBC set (../shared/data/bbc-news-summary/bbc_news_summary.jsonl, 2,225 articles) is read with
`index.formats.read_path`, as ingest reads it. Its ground truth is built here:

- known duplicates: the 133 pairs of articles with the same body paragraphs (98 with the same
  title too, 35 with a different title: re-headlined copies made by the BBC itself);
- near-duplicates made from a sample of articles (default 300, fixed seed), four of each:
  `edited` (1-3 word edits per paragraph, each a substitution, insertion or deletion, and two
  adjacent sentences swapped), `reheadlined` (a new title, the same body), `truncated` (the
  first 40-70% of the paragraphs) and `wire` (the same copy under another source, with a
  byline or dateline paragraph added on top). They go through `article_from_record` too.

Originals and copies are shuffled (fixed seed) and fed one by one to a `StoryFinder`, as an
ingest batch would. It reports:

- recall: the share of known duplicate pairs, and of each kind of copy, put in the same story
  as its original, next to the share the exact decision (`same_story` on the pair) accepts,
  so that band-lookup misses and decision misses can be told apart; truncation also by the
  share of the original's shingles the shortened copy keeps;
- merges: every story holding articles that are not copies of each other by construction
  (a pair of different originals), counted over the whole set and listed (up to --show, titles
  side by side, resemblance and containment) for checking by hand; and, as a reference made by
  brute force here only, every pair of originals that shares a shingle and that `same_story`
  accepts, and how many of those the finder put together;
- cost: milliseconds per article to fingerprint and to add to the finder (wall-clock mean
  and p95, and process CPU time, which other load on the machine disturbs less),
  candidates checked per article, and the one-off import of datasketch.

Progress goes to stderr; the report is Markdown on stdout.

With --ingest, the same stream is also stored in a real archive (a temporary folder) and
the stories the archive keeps are scored the same way.

    python bench/duplicates.py [--data DIR] [--sample N] [--seed N] [--show N] [--ingest]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from index import versions
from index.articles import article_from_record
from index.formats import read_path
from index.models import Article
from index.versions import (
    Fingerprint,
    StoryFinder,
    containment,
    fingerprint_article,
    resemblance,
    same_story,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BBC = Path("bbc-news-summary") / "bbc_news_summary.jsonl"
KINDS = ("edited", "reheadlined", "truncated", "wire")

# Words an editor might put in or swap for another one.
_EDIT_WORDS = (
    "also",
    "now",
    "reportedly",
    "recently",
    "further",
    "major",
    "new",
    "latest",
    "key",
    "still",
    "widely",
    "officially",
)
_BYLINES = (
    "By Staff Reporter, Press Association",
    "LONDON (Reuters) -",
    "From our correspondent in Brussels, Associated Press",
    "By Jane Ellis, Agence France-Presse",
    "NEW YORK (AP) -",
    "Reporting by Tom Harper; editing by Sam Wood",
)
_SOURCES = ("Press Association", "Reuters", "Associated Press", "AFP")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


@dataclass
class Copy:
    """A near-duplicate made from an original, and what was done to it."""

    article: Article
    kind: str
    origin: str
    kept: float = 1.0  # for truncated copies: the share of the original's shingles kept


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- making near-duplicates ------------------------------------------------------------------


def edit_paragraph(paragraph: str, rng: random.Random) -> str:
    words = paragraph.split()
    for _ in range(rng.randint(1, 3)):
        operation = rng.choice(("substitute", "insert", "delete"))
        place = rng.randrange(len(words))
        if operation == "substitute":
            words[place] = rng.choice(_EDIT_WORDS)
        elif operation == "insert":
            words.insert(place, rng.choice(_EDIT_WORDS))
        elif len(words) > 5:
            del words[place]
    return " ".join(words)


def swap_sentences(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Swap two adjacent sentences of one paragraph (a paragraph that has two or more)."""
    split = [_SENTENCE_END.split(paragraph) for paragraph in paragraphs]
    choices = [i for i, sentences in enumerate(split) if len(sentences) >= 2]
    if not choices:
        return paragraphs
    which = rng.choice(choices)
    sentences = split[which]
    first = rng.randrange(len(sentences) - 1)
    sentences[first], sentences[first + 1] = sentences[first + 1], sentences[first]
    split[which] = sentences
    return [" ".join(sentences) for sentences in split]


def make_copy(original: Article, kind: str, rng: random.Random) -> Copy:
    record: dict = {
        "id": f"copy-{kind}/{original.id}",
        "title": original.title,
        "paragraphs": list(original.paragraphs),
        "category": original.category,
        "source": "BBC News",
    }
    kept = 1.0
    if kind == "edited":
        edited = [edit_paragraph(p, rng) for p in original.paragraphs]
        record["paragraphs"] = swap_sentences(edited, rng)
    elif kind == "reheadlined":
        lead = _SENTENCE_END.split(original.paragraphs[0])[0].rstrip(".").split()
        record["title"] = " ".join(lead[: rng.randint(5, 8)])
    elif kind == "truncated":
        paragraphs = original.paragraphs
        if len(paragraphs) == 1:
            sentences = _SENTENCE_END.split(paragraphs[0])
            keep = max(1, round(len(sentences) * rng.uniform(0.4, 0.7)))
            record["paragraphs"] = [" ".join(sentences[:keep])]
        else:
            keep = min(len(paragraphs) - 1, max(1, round(len(paragraphs) * rng.uniform(0.4, 0.7))))
            record["paragraphs"] = paragraphs[:keep]
    elif kind == "wire":
        record["paragraphs"] = [rng.choice(_BYLINES), *original.paragraphs]
        record["source"] = rng.choice(_SOURCES)
    article = article_from_record(record, origin="", key=record["id"], name=record["id"])
    if kind == "truncated":
        whole = fingerprint_article(original).shingles
        kept = len(fingerprint_article(article).shingles & whole) / len(whole)
    return Copy(article, kind, original.id, kept)


# --- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def shingle_pairs(prints: dict[str, Fingerprint]) -> Counter[tuple[str, str]]:
    """Count shared shingles for every pair of articles sharing one (brute force, bench only)."""
    holders: dict[str, list[str]] = defaultdict(list)
    for article_id, found in prints.items():
        for shingle in found.shingles:
            holders[shingle].append(article_id)
    shared: Counter[tuple[str, str]] = Counter()
    for ids in holders.values():
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                shared[(first, second) if first < second else (second, first)] += 1
    return shared


PASSES = 3


def datasketch_import_ms() -> float:
    """Time `import datasketch` (which imports scipy) in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import datasketch; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return 1000 * float(result.stdout) if result.returncode == 0 else float("nan")


def time_fingerprints(stream: list[Article]) -> tuple[list[float], float]:
    """Fingerprint every article; return wall ms per article and CPU ms per article."""
    timings = []
    cpu = time.process_time()
    for article in stream:
        before = time.perf_counter()
        fingerprint_article(article)
        timings.append(1000 * (time.perf_counter() - before))
    return timings, 1000 * (time.process_time() - cpu) / len(stream)


def time_adds(stream: list[Article], prints: dict[str, Fingerprint]) -> tuple[list[float], float]:
    """Add every article to a new finder; return wall ms per article and CPU ms per article."""
    finder = StoryFinder()
    timings = []
    cpu = time.process_time()
    for article in stream:
        found = prints[article.id]
        before = time.perf_counter()
        finder.add(article.id, found)
        timings.append(1000 * (time.perf_counter() - before))
    return timings, 1000 * (time.process_time() - cpu) / len(stream)


def shares_band(a: Fingerprint, b: Fingerprint) -> bool:
    return not set(a.bands).isdisjoint(b.bands)


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--sample", type=int, default=300, help="originals to copy (default 300)")
    parser.add_argument("--seed", type=int, default=7, help="seed for sample, edits and order")
    parser.add_argument("--show", type=int, default=20, help="merged pairs to list (default 20)")
    parser.add_argument(
        "--ingest", action="store_true", help="also store everything in a real archive"
    )
    args = parser.parse_args()
    path = args.data / BBC
    if not path.is_file():
        sys.exit(f"no {path}; pass --data with the folder holding {BBC.parent}/")

    started = time.perf_counter()
    originals = read_path(path).articles
    by_id = {article.id: article for article in originals}
    progress(f"{len(originals)} articles from {path}")

    # Known duplicates: the same body. Each original's canonical origin is the first of its group.
    bodies: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for article in originals:
        bodies[tuple(article.paragraphs)].append(article.id)
    canonical = {i: group[0] for group in bodies.values() for i in group}
    dup_pairs = [
        (group[a], group[b])
        for group in bodies.values()
        for a in range(len(group))
        for b in range(a + 1, len(group))
    ]

    rng = random.Random(args.seed)
    sample = rng.sample(originals, min(args.sample, len(originals)))
    copies = [make_copy(original, kind, rng) for original in sample for kind in KINDS]
    for copy in copies:
        canonical[copy.article.id] = canonical[copy.origin]
    stream = originals + [copy.article for copy in copies]
    rng.shuffle(stream)
    progress(f"{len(copies)} copies of {len(sample)} originals; {len(stream)} articles in all")

    import_ms = datasketch_import_ms()
    finder = StoryFinder()
    prints: dict[str, Fingerprint] = {}
    bridges = 0  # articles that linked two stories already there
    for article in stream:
        prints[article.id] = fingerprint_article(article)
        bridges += bool(finder.place(article.id, prints[article.id]).merged)
    progress(f"fed to the finder in {time.perf_counter() - started:.1f} s; timing")
    print_passes = [time_fingerprints(stream) for _ in range(PASSES)]
    add_passes = [time_adds(stream, prints) for _ in range(PASSES)]
    false_candidates = [
        sum(
            1
            for other in finder.candidates(prints[article.id])
            if other != article.id and not same_story(prints[article.id], prints[other])
        )
        for article in stream
    ]

    def together(first: str, second: str) -> bool:
        return finder.story_of(first) == finder.story_of(second)

    # --- report -------------------------------------------------------------------------------
    print(
        f"\n### Story detection on the BBC set ({len(originals)} articles + {len(copies)} copies)\n"
    )
    print(
        f"Scheme `{versions.SCHEME}`: {versions.SHINGLE_WORDS}-word shingles of the body, "
        f"MinHash of {versions.NUM_PERM} permutations, {versions.BODY_BANDS} body bands x "
        f"{versions.BODY_ROWS} rows + {versions.LEAD_BANDS} lead bands x {versions.LEAD_ROWS} "
        f"rows (first {versions.LEAD_BAND_WORDS} words) = {len(prints[stream[0].id].bands)} tokens "
        f"per article. Same story: resemblance >= {versions.SAME_RESEMBLANCE} or containment "
        f">= {versions.SAME_CONTAINMENT} with leads (first {versions.LEAD_WORDS} words) "
        f"resembling >= {versions.LEAD_RESEMBLANCE} "
        f"(smaller side >= {versions.LONG_SHINGLES} shingles); "
        f"shorter: containment >= {versions.SHORT_CONTAINMENT} and the same title; under "
        f"{versions.BRIEF_SHINGLES} shingles: identical. Seed {args.seed}.\n"
    )

    columns = "share a band token | accepted by same_story | same story (finder)"
    print(f"| ground truth | pairs | {columns} |")
    print("|---|---|---|---|---|")
    identical = [p for p in dup_pairs if by_id[p[0]].title == by_id[p[1]].title]
    retitled = [p for p in dup_pairs if by_id[p[0]].title != by_id[p[1]].title]
    for label, pairs in (
        ("exact duplicates, same title", identical),
        ("exact duplicates, new title (BBC's own re-headlines)", retitled),
        ("**all exact duplicates (same body)**", dup_pairs),
    ):
        print(
            f"| {label} | {len(pairs)} "
            f"| {pct(sum(shares_band(prints[a], prints[b]) for a, b in pairs), len(pairs))} "
            f"| {pct(sum(same_story(prints[a], prints[b]) for a, b in pairs), len(pairs))} "
            f"| {pct(sum(together(*p) for p in pairs), len(pairs))} |"
        )
    for kind in KINDS:
        made = [c for c in copies if c.kind == kind]
        joined = sum(together(c.article.id, c.origin) for c in made)
        accepted = sum(same_story(prints[c.article.id], prints[c.origin]) for c in made)
        banded = sum(shares_band(prints[c.article.id], prints[c.origin]) for c in made)
        values = [resemblance(prints[c.article.id], prints[c.origin]) for c in made]
        print(
            f"| {kind} copies (resemblance to original: median {statistics.median(values):.2f}, "
            f"min {min(values):.2f}) | {len(made)} | {pct(banded, len(made))} "
            f"| {pct(accepted, len(made))} | {pct(joined, len(made))} |"
        )
    made = [c for c in copies if c.kind == "truncated"]
    print("\nTruncated copies by the share of the original's shingles they keep:\n")
    print(f"| shingles kept | copies | {columns} |")
    print("|---|---|---|---|---|")
    for low, high in ((0.0, 0.3), (0.3, 0.5), (0.5, 1.01)):
        part = [c for c in made if low <= c.kept < high]
        banded = sum(shares_band(prints[c.article.id], prints[c.origin]) for c in part)
        joined = sum(together(c.article.id, c.origin) for c in part)
        accepted = sum(same_story(prints[c.article.id], prints[c.origin]) for c in part)
        label = f"{100 * low:.0f}-{min(100, 100 * high):.0f}%"
        print(
            f"| {label} | {len(part)} | {pct(banded, len(part))} | {pct(accepted, len(part))} "
            f"| {pct(joined, len(part))} |"
        )
    short = [c for c in made if len(prints[c.article.id]) < versions.LONG_SHINGLES]
    print(
        f"\n{len(short)} truncated copies are shorter than {versions.LONG_SHINGLES} shingles "
        f"(only the short-article rule applies to them)."
    )

    # Merges of different originals: pairs in one story whose canonical origins differ.
    merged: dict[tuple[str, str], tuple[str, str]] = {}
    stories = finder.stories()
    for members in stories.values():
        origins = sorted({canonical[m] for m in members})
        for i, first in enumerate(origins):
            for second in origins[i + 1 :]:
                merged[(first, second)] = (first, second)
    affected = sum(1 for members in stories.values() if len({canonical[m] for m in members}) > 1)
    sizes = Counter(len(members) for members in stories.values())
    print(
        f"\n### Merges of different originals\n\n{len(stream)} articles in {len(stories)} "
        f"stories (sizes: {', '.join(f'{n}: {c}' for n, c in sorted(sizes.items()))}). "
        f"Stories joining two or more different originals (not copies of each other by "
        f"construction): **{affected}**, making **{len(merged)}** pairs of originals. "
        f"Articles that linked two stories already there (merging them): {bridges}."
    )
    shown = sorted(merged)
    if len(shown) > args.show:
        shown = sorted(random.Random(args.seed).sample(shown, args.show))
    if shown:
        print(f"\nPairs to check by hand ({len(shown)} of {len(merged)}):\n")
        print("| # | first | second | resemblance | containment | same_story |")
        print("|---|---|---|---|---|---|")
        for number, (first, second) in enumerate(shown, start=1):
            a, b = prints[first], prints[second]
            print(
                f"| {number} | {first}: {by_id[first].title} | {second}: {by_id[second].title} "
                f"| {resemblance(a, b):.3f} | {containment(a, b):.3f} "
                f"| {'yes' if same_story(a, b) else 'no (joined through a third)'} |"
            )

    # Brute-force reference on the originals only (never done at ingest).
    before = time.perf_counter()
    originals_prints = {a.id: prints[a.id] for a in originals}
    shared = shingle_pairs(originals_prints)
    accepted = {
        pair
        for pair in shared
        if canonical[pair[0]] != canonical[pair[1]] and same_story(*(prints[i] for i in pair))
    }
    found = sum(together(*pair) for pair in accepted)
    rejected = [
        (resemblance(prints[a], prints[b]), containment(prints[a], prints[b]), a, b)
        for a, b in shared
        if canonical[a] != canonical[b] and (a, b) not in accepted
    ]
    closest = sorted(rejected, reverse=True)[:5]
    closest += [r for r in sorted(rejected, key=lambda r: -r[1])[:5] if r not in closest]
    print(
        f"\nBrute force over the {len(shared)} pairs of originals sharing a shingle "
        f"({time.perf_counter() - before:.1f} s): `same_story` accepts **{len(accepted)}** pairs "
        f"that are not exact duplicates; the finder put {pct(found, len(accepted))} of them in "
        f"one story. The closest pairs it rejects (by resemblance, then by containment):\n"
    )
    print("| first | second | resemblance | containment |")
    print("|---|---|---|---|")
    for jac, con, a, b in closest:
        print(f"| {a}: {by_id[a].title} | {b}: {by_id[b].title} | {jac:.3f} | {con:.3f} |")

    print(f"\n### Cost per article ({PASSES} timed passes over the {len(stream)} articles)\n")
    print(
        "| step | mean ms (best pass) | p95 ms (best pass) | mean ms (median pass) "
        "| CPU ms (best pass) |"
    )
    print("|---|---|---|---|---|")
    tokens = len(prints[stream[0].id].bands)
    for label, passes in (
        (f"fingerprint (shingles, MinHash, {tokens} band tokens)", print_passes),
        ("add to StoryFinder (band lookup + exact checks)", add_passes),
    ):
        means = sorted(statistics.mean(timings) for timings, _ in passes)
        best = min((timings for timings, _ in passes), key=statistics.mean)
        cpu = min(cpu for _, cpu in passes)
        print(
            f"| {label} | {means[0]:.3f} | {percentile(best, 0.95):.3f} "
            f"| {statistics.median(means):.3f} | {cpu:.3f} |"
        )
    print(
        f"\nCandidates that fail the exact check, per article (among all {len(stream)}): mean "
        f"{statistics.mean(false_candidates):.3f}, p95 {percentile(false_candidates, 0.95):.0f}, "
        f"max {max(false_candidates)}. `import datasketch` (it imports scipy) in a fresh "
        f"interpreter: {import_ms:.0f} ms, once per process. Load average while measuring: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)."
    )
    if args.ingest:
        through_ingest(stream, dup_pairs, copies, canonical)
    progress(f"done in {time.perf_counter() - started:.1f} s")


def through_ingest(
    stream: list[Article], dup_pairs: list, copies: list[Copy], canonical: dict[str, str]
) -> None:
    """Store the same stream in a real archive (ingest's batches, band lookups in the index,
    one StoryFinder per batch) and report the stories the archive keeps."""
    import tempfile

    from index.ingest import store_articles
    from index.whoosh_backend import WhooshArchive

    with tempfile.TemporaryDirectory() as work:
        archive = WhooshArchive(Path(work) / "bbc", create=True)
        before = time.perf_counter()
        report = store_articles(archive, stream, workers=2)
        seconds = time.perf_counter() - before
        story = {article.id: archive.get(article.id).story for article in stream}
        archive.close()
    print(
        f"\n### Through ingest\n\nThe same {len(stream)} articles stored with `store_articles` "
        f"in a real archive ({len(report.added)} added in {seconds:.0f} s, digests included; "
        "candidates come from the table of stored band keys across batches and a StoryFinder "
        "within one; stories are never merged after the fact):\n"
    )
    print("| ground truth | pairs | same story (archive) |")
    print("|---|---|---|")
    together = sum(story[a] == story[b] for a, b in dup_pairs)
    print(f"| exact duplicates (same body) | {len(dup_pairs)} | {pct(together, len(dup_pairs))} |")
    for kind in KINDS:
        made = [c for c in copies if c.kind == kind]
        joined = sum(story[c.article.id] == story[c.origin] for c in made)
        print(f"| {kind} copies | {len(made)} | {pct(joined, len(made))} |")
    members: dict[str, set[str]] = defaultdict(set)
    for article_id, key in story.items():
        members[key].add(canonical[article_id])
    mixed = sum(1 for origins in members.values() if len(origins) > 1)
    print(
        f"\n{len(members)} stories; stories holding two or more different originals "
        f"(not copies by construction): **{mixed}**."
    )


if __name__ == "__main__":
    main()
