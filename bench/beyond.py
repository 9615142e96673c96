"""Beyond the search box: briefings and related articles, their quality on the BBC set and
their speed at newsroom scale.

Quality, on ../shared/data/bbc-news-summary (2,225 BBC articles in five categories),
ingested by `precis ingest` into a work folder:

- related articles: the share of an article's related articles in its own category, for
  Precis (`index.related`), for Whoosh's `more_like_this` on whole articles (a separate
  index of one document per article, Whoosh's defaults, the article's own text given)
  and for five random other articles of the archive; how often an exact copy of the
  article (the set has 98 pairs) is among them; time per article;
- briefings for BRIEFING_QUERIES (newsroom queries of the set's 2004-05 news): sentence
  count and words, the number of articles cited (and how often 3 or more when 3 or more
  match), the likeness of every pair of sentences against `briefing.REDUNDANCY`, and the
  share of sentences holding a query word; the first ten briefings are written to
  `--side-by-side` (docs/briefings.md) beside the one-sentence digests of the top five
  results, what the results page says without a briefing.

Speed, in-process, on the synthetic archive of bench/search.py (`--paragraphs`, reused
from its work folder): briefings for the search benchmark's typed queries and related
articles for sampled articles, beside the plain search page of the same queries measured
in the same run (these machines are noisy: read the ratios); then the export of every
match of a few searches as CSV and JSON Lines.

    python bench/beyond.py [--data ../shared/data] [--paragraphs 100000] [--work DIR]
                           [--related-sample 2225] [--side-by-side docs/briefings.md]
                           [--skip-quality] [--skip-speed]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import CLI, ROOT, bench_env, percentile, queries  # noqa: E402
from search import build  # noqa: E402

from index.briefing import REDUNDANCY, brief, likeness  # noqa: E402
from index.models import SearchRequest  # noqa: E402
from index.related import related  # noqa: E402
from index.terms import distinct_terms, terms  # noqa: E402
from index.whoosh_backend import WhooshArchive  # noqa: E402

BRIEFING_QUERIES = [
    "general election campaign", "oil prices", "iPod", "tsunami aid", "Yukos",
    "Chelsea Mourinho", "Oscar nominations", "broadband", "interest rates", "ID cards",
    "mobile phones", "Microsoft", "video games", "house prices", "Iraq", "Six Nations",
    "music downloads", "Australian Open", "box office", "spam", "airline", "China economy",
    "Kilroy-Silk", "computer virus", "Glazer Manchester United", "PlayStation",
    "dollar euro", "Gordon Brown budget", "hunting ban", "file sharing",
]  # fmt: skip
SIDE_BY_SIDE = 10
# Export: a rare and a common word of the generator, two words, and every article.
EXPORT_QUERIES = ["telescope vaccine", "election", "market shares", ""]


def bbc_archive(data: Path, work: Path) -> tuple[WhooshArchive, dict[str, dict]]:
    """The BBC set ingested by `precis ingest` (reused from `work`), and its records."""
    records = {}
    for line in (data / "bbc-news-summary" / "bbc_news_summary.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        article_id = "bbc-" + record["id"].replace("/", "-")
        records[article_id] = {
            "id": article_id,
            "title": record["title"],
            "paragraphs": record["paragraphs"],
            "category": record["category"],
            "source": "BBC News",
        }
    index = work / "bbc-index"
    if not (work / "bbc-built").exists():
        work.mkdir(parents=True, exist_ok=True)
        source = work / "bbc.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in records.values()), "utf-8")
        done = subprocess.run(
            [*CLI, "ingest", str(source), "--index", str(index), "--no-progress"],
            cwd=ROOT, env=bench_env(), capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"ingest failed:\n{done.stdout}\n{done.stderr}")
        (work / "bbc-built").write_text("ok")
    return WhooshArchive(index), records


def more_like_this(records: dict[str, dict], work: Path, sample: list[str]) -> dict[str, list]:
    """Whoosh's more_like_this on an index of whole articles: five per sampled article."""
    from whoosh import fields
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.index import create_in

    folder = work / "mlt-index"
    folder.mkdir(parents=True, exist_ok=True)
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        text=fields.TEXT(analyzer=StemmingAnalyzer()),
    )
    index = create_in(str(folder), schema)
    writer = index.writer()
    texts = {}
    for article_id, record in records.items():
        texts[article_id] = record["title"] + "\n\n" + "\n\n".join(record["paragraphs"])
        writer.add_document(id=article_id, text=texts[article_id])
    writer.commit()
    found = {}
    with index.searcher() as searcher:
        for article_id in sample:
            docnum = searcher.document_number(id=article_id)
            hits = searcher.more_like(docnum, "text", text=texts[article_id], top=5)
            found[article_id] = [hit["id"] for hit in hits]
    return found


def related_quality(archive, records, work: Path, size: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    ids = sorted(records)
    sample = sorted(rng.sample(ids, min(size, len(ids))))
    fingerprint = {i: (r["title"], tuple(r["paragraphs"])) for i, r in records.items()}
    copies = Counter(fingerprint.values())
    category = {i: r["category"] for i, r in records.items()}

    def share(found: dict[str, list[str]]) -> tuple[float, int, int]:
        same = total = dup = 0
        for article_id, others in found.items():
            for other in others:
                total += 1
                same += category[other] == category[article_id]
                dup += fingerprint[other] == fingerprint[article_id]
        return same / max(total, 1), total, dup

    ours, times = {}, []
    for article_id in sample[:20]:  # warm the caches
        related(archive, article_id)
    for article_id in sample:
        began = time.perf_counter()
        ours[article_id] = [r.id for r in related(archive, article_id)]
        times.append((time.perf_counter() - began) * 1000)
    random_five = {i: rng.sample([o for o in ids if o != i], 5) for i in sample}
    began = time.perf_counter()
    mlt = more_like_this(records, work, sample)
    mlt_ms = (time.perf_counter() - began) * 1000 / len(sample)
    with_copy = sum(1 for i in sample if copies[fingerprint[i]] > 1)
    rows = [
        f"Related articles on the BBC set: {len(sample):,} articles, five related each "
        f"({with_copy} of them have an exact copy in the set).",
        "",
        "| Method | Same category | Related shown | Exact copies shown | ms per article |",
        "|---|---|---|---|---|",
    ]
    for name, found, ms in (
        ("Random other articles", random_five, 0.0),
        ("Whoosh more_like_this, whole articles", mlt, mlt_ms),
        ("Precis related (index/related.py)", ours, statistics.mean(times)),
    ):
        value, total, dup = share(found)
        rows.append(f"| {name} | {value:.1%} | {total:,} | {dup} | {ms:.1f} |")
    rows += [
        "",
        f"Precis related, per article: p50 {percentile(times, 0.5):.1f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms (BBC archive, "
        f"{archive.stats().paragraphs:,} paragraphs).",
    ]
    return rows


def briefing_quality(archive, out: Path | None) -> list[str]:
    counts, words, cited, pairs, matched, above = [], [], [], [], [], 0
    three_when_three = [0, 0]
    side = []
    for query in BRIEFING_QUERIES:
        found = brief(archive, SearchRequest(query=query))
        sentences = found.sentences
        if not sentences:
            continue
        counts.append(len(sentences))
        words.append(sum(len(s.text.split()) for s in sentences))
        articles = len({s.article_id for s in sentences})
        cited.append(articles)
        if found.total >= 3:
            three_when_three[1] += 1
            three_when_three[0] += articles >= 3
        sets = [frozenset(distinct_terms(s.text)) for s in sentences]
        for n, first in enumerate(sets):
            for second in sets[n + 1 :]:
                value = likeness(first, second)
                pairs.append(value)
                above += value > REDUNDANCY
        wanted = set(terms(query))
        matched += [bool(wanted & set(terms(s.text))) for s in sentences]
        if len(side) < SIDE_BY_SIDE:
            top = archive.search(SearchRequest(query=query, per_page=5))
            side.append((query, found, top))
    rows = [
        f"Briefings for {len(BRIEFING_QUERIES)} newsroom queries on the BBC set "
        f"({len(counts)} with matches):",
        "",
        "| Measure | Value |",
        "|---|---|",
        f"| Sentences per briefing (min / mean / max) | {min(counts)} / "
        f"{statistics.mean(counts):.1f} / {max(counts)} |",
        f"| Words per briefing (mean / max) | {statistics.mean(words):.0f} / {max(words)} |",
        f"| Articles cited per briefing (min / mean) | {min(cited)} / "
        f"{statistics.mean(cited):.1f} |",
        f"| At least 3 articles cited when 3 or more match | {three_when_three[0]} of "
        f"{three_when_three[1]} |",
        f"| Likeness of sentence pairs (mean / max; threshold {REDUNDANCY}) | "
        f"{statistics.mean(pairs):.3f} / {max(pairs):.3f} |",
        f"| Pairs above the threshold | {above} of {len(pairs)} |",
        f"| Sentences holding a query word | {statistics.mean(matched):.0%} |",
    ]
    if out is not None:
        out.write_text(side_by_side(side), "utf-8")
        rows += ["", f"The first {len(side)} briefings, side by side: {out}"]
    return rows


def side_by_side(side: list) -> str:
    lines = [
        "# Ten briefings on the BBC set, side by side",
        "",
        "Made by `python bench/beyond.py` (it rewrites this file) from the BBC News Summary",
        "set (2,225 BBC articles of 2004-05, research use; see ../shared/data). For each",
        "query: on the left the briefing of `GET /briefing` (index/briefing.py), each",
        "sentence followed by the number of its source; on the right what the results page",
        "shows without it, the one-sentence digests of the top five results. The articles are",
        "undated, so sentences keep the order of their articles' rank.",
        "",
        "| Query | Briefing | Top five results, one sentence each |",
        "|---|---|---|",
    ]
    for query, found, top in side:
        text = " ".join(f"{s.text} [{s.source + 1}]" for s in found.sentences)
        sources = "<br>".join(
            f"[{n}] {source.title} ({source.id})" for n, source in enumerate(found.sources, 1)
        )
        digests = "<br>".join(
            f"{n}. **{r.title}**: {r.short_digest}" for n, r in enumerate(top.results, 1)
        )
        cell = f"{text}<br><br>{sources}".replace("|", "\\|")
        lines.append(f"| {query} | {cell} | {digests.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


def speed(paragraphs: int, work: Path, count: int = 200) -> list[str]:
    build(work, paragraphs, baseline=False)
    archive = WhooshArchive(work / "index")
    typed = queries(2 * count)
    first, second = typed[:count], typed[count:]
    rng = random.Random(3)
    ids = [f"bench-{rng.randrange(paragraphs // 10)}" for _ in range(count)]
    for query in typed[-20:]:  # the server's first searches
        archive.search(SearchRequest(query=query))
    for article_id in ids[-20:]:
        related(archive, article_id)
    timings: dict[str, list[float]] = {}

    def timed(name: str, run) -> None:
        began = time.perf_counter()
        run()
        timings.setdefault(name, []).append((time.perf_counter() - began) * 1000)

    # Interleaved, so that each sees the same noise. First touch: a query's words are read
    # for the first time (a briefing of one query, the search page of another).
    for brief_query, search_query, article_id in zip(first, second, ids, strict=True):
        timed("briefing, first touch", lambda q=brief_query: brief(archive, SearchRequest(q)))
        timed("search page, first touch", lambda q=search_query: archive.search(SearchRequest(q)))
        timed("related (each article once)", lambda a=article_id: related(archive, a))
    # Warmed, as bench/search.py measures: the same queries again ("Brief me" follows the
    # search of the same words on the results page).
    for query in first:
        timed("search page, warmed", lambda q=query: archive.search(SearchRequest(q)))
        timed("briefing, warmed", lambda q=query: brief(archive, SearchRequest(q)))
    stats = archive.stats()
    rows = [
        f"In-process, {stats.paragraphs:,} paragraphs ({stats.articles:,} articles), "
        f"{count} typed queries of bench/search.py and {count} sampled articles:",
        "",
        "| Operation | p50 (ms) | p95 (ms) | p95 / search page p95 (same touch) |",
        "|---|---|---|---|",
    ]
    for name, values in timings.items():
        touch = "first touch" if "first touch" in name else "warmed"
        base = timings[f"search page, {touch}"]
        rows.append(
            f"| {name} | {percentile(values, 0.5):.1f} | {percentile(values, 0.95):.1f} | "
            f"{percentile(values, 0.95) / percentile(base, 0.95):.2f}x |"
        )
    return rows


def export_speed(paragraphs: int, work: Path) -> list[str]:
    """Every match of a few searches as CSV and as JSON Lines, in-process, on the speed
    archive: matches and seconds, beside the search page of the same query."""
    from index.export import export

    archive = WhooshArchive(work / "index")
    rows = [
        "Export of every match, in-process (the text produced and discarded):",
        "",
        "| Query | Matches | Search page (ms) | CSV (s) | JSON Lines (s) | CSV ms per match |",
        "|---|---|---|---|---|---|",
    ]
    for query in EXPORT_QUERIES:
        request = SearchRequest(query=query)
        began = time.perf_counter()
        page = archive.search(request)
        page_ms = (time.perf_counter() - began) * 1000
        seconds = {}
        for fmt in ("csv", "jsonl"):
            began = time.perf_counter()
            matches = archive.every_match(request)
            try:
                for _ in export(matches, fmt):
                    pass
            finally:
                matches.close()
            seconds[fmt] = time.perf_counter() - began
        rows.append(
            f"| {query or '(empty: every article)'} | {page.total:,} | {page_ms:.1f} | "
            f"{seconds['csv']:.2f} | {seconds['jsonl']:.2f} | "
            f"{1000 * seconds['csv'] / max(page.total, 1):.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None, help="the speed archive's folder")
    parser.add_argument("--bbc-work", type=Path, default=Path("/tmp/precis-bench-beyond-bbc"))
    parser.add_argument("--related-sample", type=int, default=2225)
    parser.add_argument("--side-by-side", type=Path, default=ROOT / "docs" / "briefings.md")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(f"/tmp/precis-bench-search-{args.paragraphs}-f50")
    if not args.skip_quality:
        archive, records = bbc_archive(args.data, args.bbc_work)
        for line in related_quality(archive, records, args.bbc_work, args.related_sample):
            print(line, flush=True)
        print()
        for line in briefing_quality(archive, args.side_by_side):
            print(line, flush=True)
    if not args.skip_speed:
        print()
        for line in speed(args.paragraphs, work):
            print(line, flush=True)
        print()
        for line in export_speed(args.paragraphs, work):
            print(line, flush=True)


if __name__ == "__main__":
    main()
