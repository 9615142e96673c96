"""Shared pieces of the serving benchmarks: a news-like corpus, a served archive, clients.

- `news_articles` generates deterministic news-like articles (titles, dates over 15
  years, several sources and categories, 8-12 paragraphs of ~60 words from a Zipfian
  vocabulary with topical words), so that runs on different days compare.
- `served` ingests them with `precis ingest` and runs `precis serve` on a free loopback
  port; `server_memory` sums the resident memory of the server and its processes.
- `Clients` runs HTTP clients in threads and keeps every request's latency and status.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "webapp.cli"]
SOURCES = ["Harbour Gazette", "City Courier", "Wire Service", "Evening Post", "Daily Ledger"]
TOPICS = {
    "politics": "minister election parliament vote party coalition policy budget campaign",
    "business": "market shares profit company bank investors prices growth trade",
    "sport": "match season coach league goal players championship final injury",
    "science": "researchers study climate energy telescope species vaccine data",
    "transport": "ferry harbour rail airport traffic crossing commuters route fares",
}
COMMON = (
    "said year people government police city time report week council plan public new "
    "official local service group former told state world work family day country number "
    "months support week area change health school home cost system money water help"
).split()


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    syllables = "ka lo mi ra ten sor vel un dra pi sto mer lan qua bri fen ox gal".split()
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def vocabulary(seed: int = 9) -> list[str]:
    """The generator's own words, most frequent first (Zipfian: rank r has weight 1/(r+1))."""
    return _vocabulary(random.Random(seed))


def news_articles(count: int, *, seed: int = 9, start: int = 0, flatten: float = 1.0) -> list[dict]:
    """Return `count` deterministic news-like article records (ids `bench-<n>`).

    Words are drawn with weight 1/(rank + flatten) (Zipf-Mandelbrot): with the default
    of 1 the most frequent made-up word is in nearly every paragraph; around 50 the head
    is as common as news's most frequent names and places are.
    """
    rare = vocabulary(seed)
    cumulative = list(itertools.accumulate(1 / (rank + flatten) for rank in range(len(rare))))
    records = []
    for number in range(start, start + count):
        article_rng = random.Random(f"{seed}-{number}")
        category = article_rng.choice(sorted(TOPICS))
        topical = TOPICS[category].split()

        def sentence(rng: random.Random = article_rng, topical: list[str] = topical) -> str:
            words = []
            for _ in range(rng.randint(10, 18)):
                pick = rng.random()
                if pick < 0.35:
                    words.append(rng.choice(COMMON))
                elif pick < 0.6:
                    words.append(rng.choice(topical))
                else:
                    words.append(rng.choices(rare, cum_weights=cumulative)[0])
            return " ".join(words).capitalize() + "."

        paragraphs = [
            " ".join(sentence() for _ in range(article_rng.randint(3, 5)))
            for _ in range(article_rng.randint(8, 12))
        ]
        year = 2010 + article_rng.randint(0, 14)
        records.append(
            {
                "id": f"bench-{number}",
                "title": " ".join(article_rng.choice(topical + rare[:300]) for _ in range(6)),
                "date": f"{year}-{article_rng.randint(1, 12):02d}-{article_rng.randint(1, 28):02d}",
                "source": article_rng.choice(SOURCES),
                "category": category,
                "paragraphs": paragraphs,
            }
        )
    return records


def queries(count: int, *, seed: int = 11) -> list[str]:
    """Typed-looking queries of 1-3 words from the corpus's topical and common words."""
    rng = random.Random(seed)
    words = [w for topic in TOPICS.values() for w in topic.split()] + COMMON[:20]
    return [" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(count)]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECIS_")}
    env.update(
        PRECIS_CONFIG="/nonexistent/precis.toml",
        PYTHONUNBUFFERED="1",
        **{f"PRECIS_{k.upper()}": v for k, v in settings.items()},
    )
    return env


def ingest(source: Path, index: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "ingest", str(source), "--index", str(index), "--no-progress"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@dataclass
class Served:
    host: str
    port: int
    process: subprocess.Popen
    index: Path
    env: dict[str, str]
    work: Path


@contextmanager
def serving(index: Path, env: dict[str, str], work: Path, processes: int = 0) -> Iterator[Served]:
    """`precis serve` on an existing archive, until the block ends."""
    port = free_port()
    command = [*CLI, "serve", "--index", str(index), "--port", str(port)]
    if processes:
        command += ["--processes", str(processes)]
    log = (work / f"server-{port}.log").open("w")  # waitress's queue-depth warnings go here
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )
    process.stdout.readline()
    target = Served("127.0.0.1", port, process, index, env, work)
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(target, "/healthz")[0] == 200:
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield target
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextmanager
def served(articles: int, *, processes: int = 0, **settings: str) -> Iterator[Served]:
    """An archive of `articles` generated articles, served until the block ends."""
    work = Path(tempfile.mkdtemp(prefix="precis-load-"))
    env = bench_env(**settings)
    index = work / "index"
    ingest(write_jsonl(work / "articles.jsonl", news_articles(articles)), index, env)
    try:
        with serving(index, env, work, processes) as target:
            yield target
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


def get(
    target: Served, path: str, headers: dict | None = None, connection=None
) -> tuple[int, bytes]:
    own = connection is None
    connection = connection or http.client.HTTPConnection(target.host, target.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if own:
            connection.close()


@dataclass(frozen=True)
class Memory:
    """Resident memory of a server and its processes, in bytes.

    `anonymous` is the heap (where a leak would show); `files` is the mapped index files
    the processes touched, which grows with the archive and is shared page cache, counted
    once per process here.
    """

    anonymous: int
    files: int

    @property
    def total(self) -> int:
        return self.anonymous + self.files


def server_memory(pid: int) -> Memory:
    """Resident memory of `pid` and its children (Linux /proc)."""
    anonymous = files = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(entry.name) != pid and int(stat[1]) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith(("RssAnon:", "RssShmem:")):
                    anonymous += int(line.split()[1]) * 1024
                elif line.startswith("RssFile:"):
                    files += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return Memory(anonymous, files)


@dataclass
class Clients:
    """HTTP clients in threads, each with a keep-alive connection, until stopped."""

    target: Served
    choose: Callable[[random.Random], tuple[str, str, dict]]  # -> (kind, path, headers)
    count: int
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.count)
        ]

    def _run(self, number: int) -> None:
        rng = random.Random(number)
        connection = http.client.HTTPConnection(self.target.host, self.target.port, timeout=30)
        while not self.stop.is_set():
            kind, path, headers = self.choose(rng)
            started = time.perf_counter()
            try:
                status, _ = get(self.target, path, headers, connection)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(
                    self.target.host, self.target.port, timeout=30
                )
                with self.lock:
                    self.errors.append(f"{kind}: {error!r}")
                continue
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latencies.setdefault(kind, []).append(elapsed)
                self.statuses[status] += 1
                if status != 200:
                    self.errors.append(f"{kind} {path}: HTTP {status}")
        connection.close()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float], seconds: float) -> str:
    """`requests/s | p50 | p95 | p99` (ms) for a Markdown row."""
    if not values:
        return "0 | - | - | -"
    return (
        f"{len(values) / seconds:.1f} | {statistics.median(values) * 1000:.1f} | "
        f"{percentile(values, 0.95) * 1000:.1f} | {percentile(values, 0.99) * 1000:.1f}"
    )
