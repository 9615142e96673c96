"""The archive in a Typesense cluster: collections, writes, the writer lock, reads.

Three collections, named from a prefix (`PRECIS_TYPESENSE_COLLECTION`, default `precis`):

- `<prefix>_paragraphs`: one document per body paragraph: the text, its terms, the
  headline's terms, the byline's and dateline's terms, and the article's key, source,
  category, author, year, month, day and story (facets and filters);
- `<prefix>_articles`: one record per article: the whole `StoredArticle` as JSON, its
  content hash, origin and story band keys (stored, not indexed), and the fields the
  newest-first listing filters, facets and sorts on;
- `<prefix>_meta`: the archive's metadata and its writer lock.

Documents are keyed by a hash of the article id (`article_key`), so that ids with any
character can be filtered on. Typesense writes one document at a time, not a batch: an
article's paragraphs are upserted first, its leftover paragraphs removed, its record last;
a reader during that write may see some paragraphs new and others old, never a record
without paragraphs. A search only shows articles whose record it can read.

Writers are serialised by a lease document in `<prefix>_meta` (created only if absent;
one that has expired is taken over), so that two ingests, on any machines, never write at
once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from typing import Any
from urllib.parse import urlsplit

import httpx
import typesense
from typesense import exceptions as errors

from ..archive import (
    DEFAULT_WRITE_TIMEOUT,
    ArchiveBusy,
    ArchiveError,
    ArchiveMissing,
    ArchiveWriteError,
)
from ..models import (
    ArchiveStats,
    ArticleResult,
    KnownArticle,
    Marked,
    SearchPage,
    SearchRequest,
    StoredArticle,
    Version,
)
from ..terms import terms
from ..versions import BandTable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# The writer lease: renewed every RENEW_SECONDS while held, so a writer that dies (SIGKILL,
# a lost machine) blocks the next one for LEASE_SECONDS at most.
LEASE_SECONDS = 60
RENEW_SECONDS = 10
IMPORT_BATCH = 500  # documents per import request
MULTI_SEARCH_LIMIT = 50  # Typesense's default cap on the searches of one multi_search
READ_BATCH = 100  # records per filtered read
# Every request is retried on the next node: a node that is down or has lost its leader
# answers with an error, the client moves on.
CLIENT_OPTIONS = {
    "connection_timeout_seconds": 5,
    "num_retries": 6,
    "retry_interval_seconds": 0.5,
    "healthcheck_interval_seconds": 5,
}
# What a node that is down, or a cluster electing its leader, answers (after the client
# has tried every node): worth trying again for a while.
_RETRYABLE = (
    errors.ServerError,
    errors.ServiceUnavailable,
    errors.HTTPStatus0Error,
    errors.Timeout,
    httpx.HTTPError,
)
WRITE_PATIENCE = 60.0  # seconds a write waits for the cluster to take it


def article_key(article_id: str) -> str:
    """The key of an article's documents: hex, so any id is safe in a filter."""
    return hashlib.blake2b(article_id.encode("utf-8"), digest_size=12).hexdigest()


def value_key(value: str) -> str:
    """The key of a facet value: Typesense's `:=` compares strings loosely (case and
    punctuation ignored: "A-1" equals "a1"), so filters compare these hex keys instead."""
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest() if value else ""


def facet_value(value: str) -> str:
    """What a facet field holds: the value's key, a space, the value ("" for none)."""
    return f"{value_key(value)} {value}" if value else ""


def facet_label(stored: str) -> str:
    """The value of a facet field's entry (see `facet_value`)."""
    return stored.partition(" ")[2]


def quoted(value: str) -> str:
    """A filter value, quoted so that commas, spaces and operators are plain text."""
    return "`" + value.replace("`", "\\`") + "`"


def nodes_from(text: str) -> list[dict[str, Any]]:
    """Client nodes from `http://host:port,https://host:port` (a scheme is optional)."""
    nodes = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        parts = urlsplit(item if "://" in item else f"http://{item}")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ArchiveError(f"PRECIS_TYPESENSE_NODES: {item!r} is not http(s)://host:port")
        port = parts.port or (443 if parts.scheme == "https" else 8108)
        nodes.append({"host": parts.hostname, "port": str(port), "protocol": parts.scheme})
    if not nodes:
        raise ArchiveError(
            "the typesense backend needs PRECIS_TYPESENSE_NODES (every node of the cluster)"
        )
    return nodes


_FACET = {"type": "string", "facet": True}
# The fields both collections filter, facet and sort on.
FILTERED_FIELDS = (
    # Facets hold "<key> <value>": Typesense merges values that differ only in case or
    # punctuation ("A-1", "a1") into one count; the key keeps them apart.
    {"name": "source", **_FACET},
    {"name": "category", **_FACET},
    {"name": "author", **_FACET},
    {"name": "source_key", "type": "string"},
    {"name": "category_key", "type": "string"},
    {"name": "author_key", "type": "string"},
    {"name": "year", **_FACET},
    {"name": "month", **_FACET},
    {"name": "day", "type": "int32"},
    {"name": "story", **_FACET},
)


def paragraph_schema(name: str) -> dict:
    facet = {"type": "string", "facet": True}
    return {
        "name": name,
        "fields": [
            {"name": "article_key", **facet},
            {"name": "para", "type": "int32"},
            {"name": "stems", "type": "string"},
            {"name": "title_stems", "type": "string"},
            {"name": "author_stems", "type": "string"},
            {"name": "dateline_stems", "type": "string"},
            *FILTERED_FIELDS,
        ],
    }


def article_schema(name: str) -> dict:
    return {
        "name": name,
        "fields": [
            {"name": "article_id", "type": "string", "sort": True},
            *FILTERED_FIELDS,
        ],
    }


def meta_schema(name: str) -> dict:
    return {"name": name, "fields": [{"name": "kind", "type": "string"}]}


def _day(date: str) -> int:
    return int(date.replace("-", "")) if len(date) == 10 else 0


def _dated_fields(stored: StoredArticle) -> dict[str, Any]:
    article = stored.article
    return {
        "source": facet_value(article.source),
        "category": facet_value(article.category),
        "author": facet_value(article.author),
        "source_key": value_key(article.source),
        "category_key": value_key(article.category),
        "author_key": value_key(article.author),
        "year": article.date[:4],
        "month": article.date[:7],
        "day": _day(article.date),
        "story": article_key(stored.story or article.id),
    }


def paragraph_documents(stored: StoredArticle) -> list[dict[str, Any]]:
    """The searchable documents of an article: one per body paragraph."""
    article = stored.article
    key = article_key(article.id)
    language = article.language
    shared = {
        "article_key": key,
        "title_stems": " ".join(terms(article.title, language)),
        "author_stems": " ".join(terms(article.author, language)),
        "dateline_stems": " ".join(terms(article.dateline, language)),
        **_dated_fields(stored),
    }
    return [
        {
            "id": f"{key}-{number}",
            "para": number,
            "stems": " ".join(terms(text, language)),
            **shared,
        }
        for number, text in enumerate(article.paragraphs)
    ]


def article_document(stored: StoredArticle, bands: bytes) -> dict[str, Any]:
    """An article's record: indexed fields for listing, the rest stored only."""
    return {
        "id": article_key(stored.id),
        "article_id": stored.id,
        **_dated_fields(stored),
        "hash": stored.content_hash,
        "origin": stored.article.origin,
        "bands": bands.hex(),
        "record": stored.to_json(),
    }


class TypesenseArchive:
    """An archive of articles kept in Typesense collections (see the module docstring)."""

    def __init__(
        self,
        nodes: Sequence[dict[str, Any]],
        api_key: str,
        prefix: str = "precis",
        *,
        create: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if not api_key:
            raise ArchiveError("the typesense backend needs PRECIS_TYPESENSE_API_KEY")
        self.prefix = prefix
        self.nodes, self.api_key = list(nodes), api_key
        self.location = (
            "typesense "
            + ",".join(f"{n['protocol']}://{n['host']}:{n['port']}" for n in nodes)
            + f" ({prefix})"
        )
        config = {"nodes": list(nodes), "api_key": api_key, **CLIENT_OPTIONS, **(options or {})}
        self.client = typesense.Client(config)
        # The client keeps a pool of connections: closed with the archive, or when it is
        # dropped (tests and `precis` commands open and forget archives).
        self._closer = weakref.finalize(self, self.client.api_call.close)
        self.paragraphs_name = f"{prefix}_paragraphs"
        self.articles_name = f"{prefix}_articles"
        self.meta_name = f"{prefix}_meta"
        self._holder = ""  # this process's lease, while it holds the writer lock
        self._open(create)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, create: bool = False):
        """The archive named by `typesense_nodes`, `typesense_api_key` and
        `typesense_collection`."""
        return cls(
            nodes_from(str(settings.get("typesense_nodes") or "")),
            str(settings.get("typesense_api_key") or ""),
            str(settings.get("typesense_collection") or "precis"),
            create=create,
        )

    def _open(self, create: bool) -> None:
        schemas = (
            paragraph_schema(self.paragraphs_name),
            article_schema(self.articles_name),
            meta_schema(self.meta_name),
        )
        try:
            existing = {c["name"] for c in self._call(self.client.collections.retrieve)}
        except ArchiveError as error:
            raise ArchiveError(
                f"can't reach the Typesense cluster at {self.location}: {error}"
            ) from error
        missing = [schema for schema in schemas if schema["name"] not in existing]
        if missing and not create:
            raise ArchiveMissing(
                f"no archive in {self.location} yet; add articles with `precis ingest PATH`"
            )
        for schema in missing:
            try:
                self._call(self.client.collections.create, schema)
            except ArchiveError as error:
                if "already exists" not in str(error):
                    raise
        meta = self.read_meta()
        if "schema_version" not in meta:
            self.write_meta(schema_version=SCHEMA_VERSION)
        elif meta["schema_version"] != SCHEMA_VERSION:
            raise ArchiveError(
                f"the archive in {self.location} was made by another version of Precis "
                f"(schema {meta['schema_version']}, this one reads {SCHEMA_VERSION})"
            )

    def connection(self) -> dict[str, Any]:
        """What opens this archive again elsewhere (a Dask worker): the constructor's
        arguments."""
        return {"nodes": self.nodes, "api_key": self.api_key, "prefix": self.prefix}

    # --- the client ------------------------------------------------------------------------

    def _call(self, function, *args, **kwargs):
        """Call the client; a cluster that can't answer becomes an ArchiveError."""
        try:
            return function(*args, **kwargs)
        except errors.ObjectNotFound:
            raise
        except errors.ObjectAlreadyExists as error:
            raise ArchiveError(f"already exists: {error}") from error
        except (errors.TypesenseClientError, httpx.HTTPError) as error:
            raise ArchiveError(f"Typesense: {error or type(error).__name__}") from error

    def collection(self, name: str):
        return self.client.collections[name]

    def _documents(self, name: str):
        return self.client.collections[name].documents

    def _export(self, name: str, **params: str) -> Iterator[dict]:
        text = self._call(self._documents(name).export, params)
        for line in text.splitlines():
            if line.strip():
                yield json.loads(line)

    def _import(self, name: str, documents: list[dict], action: str = "upsert") -> None:
        for start in range(0, len(documents), IMPORT_BATCH):
            batch = documents[start : start + IMPORT_BATCH]
            results = self._import_batch(name, batch, action)
            failed = [r for r in results if not r.get("success")]
            if failed:
                raise ArchiveWriteError(
                    f"Typesense refused {len(failed)} of {len(batch)} documents: "
                    f"{failed[0].get('error', failed[0])}; the rest of the batch was written"
                )

    def _write(self, function, *args):
        """Make a write, retried for WRITE_PATIENCE seconds while the cluster can't take it
        (a node down, a leader being elected: followers answer 500 meanwhile)."""
        deadline = time.monotonic() + WRITE_PATIENCE
        while True:
            try:
                return function(*args)
            except (errors.ObjectNotFound, errors.ObjectAlreadyExists):
                raise
            except _RETRYABLE as error:
                if time.monotonic() > deadline:
                    raise ArchiveWriteError(
                        f"the Typesense cluster at {self.location} did not take a write for "
                        f"{WRITE_PATIENCE:g} s ({error or type(error).__name__}); is a "
                        "majority of its nodes up?"
                    ) from error
                time.sleep(0.5)
            except errors.TypesenseClientError as error:
                if not isinstance(error.__cause__, json.JSONDecodeError):
                    raise ArchiveWriteError(f"Typesense refused a write: {error}") from error
                # An import answered with an empty body (seen from a three-node cluster
                # under load): its outcome is unknown, and upserts can simply be redone.
                if time.monotonic() > deadline:
                    raise ArchiveWriteError(
                        f"the Typesense cluster at {self.location} gave no readable answer "
                        f"to a write for {WRITE_PATIENCE:g} s"
                    ) from error
                time.sleep(0.5)

    def _import_batch(self, name: str, batch: list[dict], action: str) -> list[dict]:
        return self._write(self._documents(name).import_, batch, {"action": action})

    def _delete_where(self, name: str, filter_by: str) -> None:
        try:
            self._write(self._documents(name).delete, {"filter_by": filter_by, "batch_size": 500})
        except errors.ObjectNotFound:
            pass

    def search_many(self, searches: list[dict]) -> list[dict]:
        """Run searches in one request; each result, or ArchiveError for the first failed."""
        found = self._call(self.client.multi_search.perform, {"searches": searches}, {})
        results = found["results"]
        for result in results:
            if "error" in result:
                raise ArchiveError(f"Typesense: {result['error']}")
        return results

    # --- reading ---------------------------------------------------------------------------

    def reading(self, *, fresh: bool = False):
        """Typesense has no snapshots: each request reads the cluster as it is."""
        return nullcontext(self)

    def get(self, article_id: str, *, fresh: bool = False) -> StoredArticle | None:
        try:
            document = self._call(
                self._documents(self.articles_name)[article_key(article_id)].retrieve
            )
        except errors.ObjectNotFound:
            return None
        if document.get("article_id") != article_id:  # a hash collision: not this article
            return None
        return StoredArticle.from_json(document["record"])

    def records(self, ids: Sequence[str], *, fresh: bool = True) -> dict[str, StoredArticle]:
        """The stored articles with these ids, by id (always the newest write: a cluster
        pins no view)."""
        found: dict[str, StoredArticle] = {}
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), READ_BATCH):
            chunk = ids[start : start + READ_BATCH]
            keys = ",".join(article_key(article_id) for article_id in chunk)
            for document in self._export(self.articles_name, filter_by=f"id:[{keys}]"):
                stored = StoredArticle.from_json(document["record"])
                if stored.id in chunk:
                    found[stored.id] = stored
        return found

    def known(self) -> dict[str, KnownArticle]:
        return {
            d["article_id"]: KnownArticle(d.get("hash", ""), d.get("origin", ""))
            for d in self._export(self.articles_name, include_fields="article_id,hash,origin")
        }

    def articles(self) -> Iterator[StoredArticle]:
        ids = sorted(self.known())
        for start in range(0, len(ids), READ_BATCH):
            chunk = ids[start : start + READ_BATCH]
            records = self.records(chunk)
            for article_id in chunk:
                if article_id in records:
                    yield records[article_id]

    def band_table(self) -> BandTable:
        return BandTable.from_packed(
            (d["article_id"], bytes.fromhex(d.get("bands", "")))
            for d in self._export(self.articles_name, include_fields="article_id,bands")
        )

    def versions(self, article_id: str) -> list[Version]:
        from .search import versions_of

        return versions_of(self, [article_id]).get(article_id, [])

    def search(self, request: SearchRequest | str = "", **options: object) -> SearchPage:
        from .search import search_page

        if isinstance(request, str):
            request = SearchRequest(query=request, **options)  # type: ignore[arg-type]
        return search_page(self, request)

    def every_match(
        self, request: SearchRequest
    ) -> Iterator[tuple[ArticleResult, StoredArticle]]:
        from .search import every_match

        return every_match(self, request)

    def highlight(
        self, stored: StoredArticle, query: str, paragraphs: range | None = None
    ) -> tuple[list[Marked], list[Marked]]:
        from .search import highlight_article

        return highlight_article(self, stored, query, paragraphs)

    def stats(self) -> ArchiveStats:
        articles = self._call(self.collection(self.articles_name).retrieve)
        paragraphs = self._call(self.collection(self.paragraphs_name).retrieve)
        return ArchiveStats(
            path=self.location,
            articles=int(articles.get("num_documents", 0)),
            paragraphs=int(paragraphs.get("num_documents", 0)),
            size_bytes=0,  # the cluster's memory is reported by its own metrics
            last_ingest=self.read_meta().get("last_ingest", ""),
        )

    def frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """The paragraph count and each term's paragraph frequency: one search per term
        (no hits, no typos, no prefix), MULTI_SEARCH_LIMIT to a request."""
        collection = self._call(self.collection(self.paragraphs_name).retrieve)
        found: dict[str, int] = {}
        words = list(dict.fromkeys(terms))
        for start in range(0, len(words), MULTI_SEARCH_LIMIT):
            chunk = words[start : start + MULTI_SEARCH_LIMIT]
            searches = [
                {
                    "collection": self.paragraphs_name,
                    "q": word,
                    "query_by": "stems",
                    "per_page": 0,
                    "num_typos": 0,
                    "prefix": "false",
                    "drop_tokens_threshold": 0,
                    "typo_tokens_threshold": 0,
                }
                for word in chunk
            ]
            for word, result in zip(chunk, self.search_many(searches), strict=True):
                found[word] = int(result.get("found", 0))
        return int(collection.get("num_documents", 0)), found

    def read_meta(self) -> dict:
        try:
            document = self._call(self._documents(self.meta_name)["meta"].retrieve)
        except errors.ObjectNotFound:
            return {}
        return json.loads(document.get("values", "{}"))

    def warm_in_background(self) -> None:
        """Typesense keeps its index in memory: nothing to warm."""

    def close(self) -> None:
        """Nothing is held per thread: the connection pool is shared (see `shutdown`)."""

    def shutdown(self) -> None:
        """Close the connections to the cluster; the archive can't be used afterwards."""
        self._closer()

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def writing(self, timeout: float = DEFAULT_WRITE_TIMEOUT) -> Iterator[None]:
        """Hold the archive's writer lease, waiting at most `timeout` seconds for it."""
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while not self._take_lease(holder):
            if time.monotonic() >= deadline:
                raise ArchiveBusy(
                    f"another Precis process is writing to {self.location}; gave up after "
                    f"{timeout:g} s. Try again when it has finished."
                )
            time.sleep(0.2)
        self._holder = holder
        stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._keep_lease, args=(holder, stop), name="precis-lease", daemon=True
        )
        heartbeat.start()
        try:
            yield
        finally:
            stop.set()
            heartbeat.join()
            self._holder = ""
            self._release_lease(holder)

    def _keep_lease(self, holder: str, stop: threading.Event) -> None:
        """Push the lease's expiry on while the writer runs; a failed renewal (a leader
        being elected) is tried again at the next beat, well within LEASE_SECONDS."""
        while not stop.wait(RENEW_SECONDS):
            with suppress(Exception):
                self._documents(self.meta_name)["writer"].update(
                    {"expires": time.time() + LEASE_SECONDS}
                )

    def _lease(self) -> dict | None:
        try:
            return self._call(self._documents(self.meta_name)["writer"].retrieve)
        except errors.ObjectNotFound:
            return None

    def _take_lease(self, holder: str) -> bool:
        lease = {"id": "writer", "kind": "lease", "holder": holder,
                 "expires": time.time() + LEASE_SECONDS}  # fmt: skip
        current = self._lease()
        if current is not None:
            if current.get("expires", 0) > time.time():
                return False
            self._release_lease(current.get("holder", ""))  # a dead writer's
        try:
            self._write(self._documents(self.meta_name).create, lease)
        except errors.ObjectAlreadyExists:
            # Another writer took it first, or this one did and the answer was lost to a
            # failover before the retry.
            taken = self._lease()
            return taken is not None and taken.get("holder") == holder
        return True

    def _release_lease(self, holder: str) -> None:
        current = self._lease()
        if current is not None and current.get("holder") == holder:
            try:
                self._write(self._documents(self.meta_name)["writer"].delete)
            except errors.ObjectNotFound:
                pass

    def write(
        self,
        articles: Sequence[StoredArticle],
        delete: Sequence[str] = (),
        bands: Mapping[str, bytes] | None = None,
    ) -> None:
        """Store `articles` and delete `delete` (see the module docstring for the order)."""
        for article_id in delete:  # record first: a search never shows half an article
            self._delete_where(self.articles_name, f"id:={article_key(article_id)}")
            self._delete_where(self.paragraphs_name, f"article_key:={article_key(article_id)}")
        paragraphs = [doc for stored in articles for doc in paragraph_documents(stored)]
        self._import(self.paragraphs_name, paragraphs)
        by_count: dict[int, list[str]] = {}  # paragraphs left from a longer earlier version
        for stored in articles:
            by_count.setdefault(len(stored.article.paragraphs), []).append(article_key(stored.id))
        for count, keys in by_count.items():
            for start in range(0, len(keys), READ_BATCH):
                chosen = ",".join(keys[start : start + READ_BATCH])
                self._delete_where(
                    self.paragraphs_name, f"article_key:[{chosen}] && para:>={count}"
                )
        records = [article_document(s, (bands or {}).get(s.id, b"")) for s in articles]
        self._import(self.articles_name, records)

    def write_meta(self, **values: object) -> None:
        meta = self.read_meta() | values
        document = {"id": "meta", "kind": "meta", "values": json.dumps(meta)}
        self._import(self.meta_name, [document])

    def drop(self) -> None:
        """Delete the archive's collections (tests, `precis migrate --fresh`)."""
        for name in (self.paragraphs_name, self.articles_name, self.meta_name):
            try:
                self._call(self.collection(name).delete)
            except errors.ObjectNotFound:
                pass
