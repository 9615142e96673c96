"""The `precis` command: a thin layer that parses arguments and calls the index package.

Each subcommand calls the same functions the web app calls: `ingest`, `search`,
`digest`, `serve`, `stats` and `delete`. `--index DIR` picks the archive (default:
the `PRECIS_INDEX` setting, `instance/index`). Errors are printed as one line on
stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported anywhere

import click  # noqa: E402

from index.archive import Archive, ArchiveError, open_archive  # noqa: E402
from index.articles import ArticleError  # noqa: E402
from index.digest import ALGORITHMS, DigestError, parse_length, summarize  # noqa: E402
from index.formats import read_path  # noqa: E402
from index.marking import to_terminal  # noqa: E402
from index.models import Article, SearchPage, SearchRequest  # noqa: E402

from . import settings as settings_table  # noqa: E402


def _settings() -> dict:
    try:
        return settings_table.load()
    except settings_table.SettingsError as error:
        raise click.ClickException(str(error)) from error


def index_option(function):
    """Add the `--index DIR` option every command shares."""
    return click.option(
        "--index",
        "index_dir",
        metavar="DIR",
        default=None,
        help="Archive folder (default: $PRECIS_INDEX or instance/index).",
    )(function)


def _open(index_dir: str | None, create: bool = False) -> Archive:
    """The configured archive (`--index` names a Whoosh folder, whatever the backend)."""
    settings = _settings()
    if index_dir:
        settings.update(backend="whoosh", index=index_dir)
    try:
        return open_archive(settings, create=create)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error


class _Commands(click.Group):
    """Every command's disk errors end as one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            raise click.ClickException(f"{error.strerror or error}{where}") from error


def wait_option(help_text: str):
    """Add the `--wait SECONDS` option of commands that take the writer lock."""
    return click.option(
        "--wait", type=click.FloatRange(0), default=60.0, show_default=True, help=help_text
    )


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="precis")
def main() -> None:
    """Precis: search and digest a news archive."""


def _progress(enabled: bool):
    def show(items: Iterable, total: int | None, label: str) -> Iterable:
        if not enabled or (total is not None and total < 2):
            return items
        from tqdm import tqdm

        return tqdm(items, total=total, desc=label, unit=" items", file=sys.stderr, leave=False)

    return show


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@index_option
@click.option("--prune", is_flag=True, help="Remove articles whose source files are gone.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes computing digests (default: $PRECIS_WORKERS or 2).",
)
@click.option("--length", default=None, help='Digest length: "3", "20%" or "60 words".')
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default=None, help="Digest method.")
@wait_option("Seconds to wait for another ingest to finish.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stderr is a terminal).",
)
@click.option("--if-empty", is_flag=True, help="Only ingest if the archive has no articles.")
@click.option(
    "--dask",
    "dask_address",
    metavar="SCHEDULER",
    default=None,
    help="Read, clean and digest on a Dask cluster: its scheduler's address "
    "(tcp://host:8786), or `local` for one on this machine with --workers workers.",
)
def ingest(
    paths, index_dir, prune, workers, length, algorithm, wait, progress, if_empty, dask_address
) -> None:
    """Add or update articles from files and folders (recursively).

    Reads plain text, Markdown, HTML, JSON, JSON Lines and CSV. Unchanged articles are
    skipped, changed ones replaced whole; a bad file is reported and the rest goes on.
    Exits with status 1 if anything failed.
    """
    from index.ingest import ArticleLimits, DigestSettings, ingest_paths

    config = _settings()
    digest_settings = DigestSettings(
        length=length or config["digest_length"], algorithm=algorithm or config["digest_algorithm"]
    )
    try:
        parse_length(digest_settings.length)
    except DigestError as error:
        raise click.BadParameter(str(error), param_hint="--length") from error
    archive = _open(index_dir, create=True)
    if if_empty and archive.stats().articles:
        click.echo(f"{archive.location} already holds articles; nothing to do")
        return
    show = sys.stderr.isatty() if progress is None else progress
    common = {
        "prune": prune,
        "settings": digest_settings,
        "progress": _progress(show),
        "timeout": wait,
        "limits": ArticleLimits(config["max_article_chars"], config["max_article_paragraphs"]),
        "batch": config["ingest_batch"],
    }
    try:
        if dask_address:
            from index.bulk import ingest_with_dask

            report = ingest_with_dask(
                archive, paths, dask_address, workers=workers or config["workers"], **common
            )
        else:
            report = ingest_paths(archive, paths, workers=workers or config["workers"], **common)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:
        if not dask_address:
            raise  # a disk error: see _Commands
        raise click.ClickException(f"Dask at {dask_address}: {error}") from error
    for problem in report.failed:
        click.echo(f"failed: {problem.where}: {problem.reason}", err=True)
    click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("query")
@index_option
@click.option(
    "--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Articles to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (--format json).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv", "jsonl"]),
    default="text",
    show_default=True,
    help="csv and jsonl print every match, not --limit of them (see README, Export).",
)
def search(query, index_dir, limit, as_json, fmt) -> None:
    """Search the archive: one result per article, best paragraphs highlighted.

    With --format csv or jsonl, every matching article is printed as it is read: CSV for
    spreadsheets, or JSON Lines that `precis ingest` reads back.
    """
    archive = _open(index_dir)
    if fmt in ("csv", "jsonl"):
        _export_matches(archive, SearchRequest(query=query, per_page=limit), fmt)
        return
    page = archive.search(SearchRequest(query=query, per_page=limit))
    if as_json or fmt == "json":
        click.echo(json.dumps(search_json(page), ensure_ascii=False, indent=2))
        return
    if page.message:
        click.echo(page.message, err=True)
    if page.suggestion:
        click.echo(f"Did you mean: {page.suggestion}?", err=True)
    click.echo(f"{page.total} article(s) match {query!r}")
    colour = _colour(sys.stdout)
    for result in page.results:
        meta = " · ".join(x for x in (result.date, result.source, result.category) if x)
        click.echo(f"\n{result.title}  [{result.id}]" + (f"  {meta}" if meta else ""))
        if result.missing:
            click.echo(f"  Missing: {', '.join(result.missing)}")
        for hit in result.hits:
            click.echo(f"  ¶{hit.paragraph + 1}: {to_terminal(hit.marked, colour)}")


def _export_matches(archive: Archive, request: SearchRequest, fmt: str) -> None:
    """Print every match of `request` in `fmt` (csv or jsonl) to stdout, as it is read."""
    from index.export import export

    matches = archive.every_match(request)
    try:
        for chunk in export(matches, fmt):
            sys.stdout.write(chunk)
        sys.stdout.flush()
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    finally:
        close = getattr(matches, "close", None)
        if close is not None:
            close()


def _colour(stream) -> bool:
    """Whether to mark hits in colour: on a terminal, unless NO_COLOR is set."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def search_json(page: SearchPage) -> dict:
    """Return the JSON of `precis search --json`: the API's shape without paging and facets."""
    full = page.to_json()
    return {name: full[name] for name in ("query", "total", "results")}


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--jsonl",
    "jsonl",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help='Digest each line {"id", "text"} or {"id", "paragraphs"} ("-" for stdin).',
)
@click.option(
    "--sentences",
    "--length",
    "length",
    default=None,
    help='Digest length: "3", "20%" or "60 words" (default: $PRECIS_DIGEST_LENGTH).',
)
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default=None, help="Digest method.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def digest(files, jsonl, length, algorithm, as_json) -> None:
    """Print the digest of articles in FILEs, or of each line of a JSON Lines file."""
    config = _settings()
    length = length or config["digest_length"]
    algorithm = algorithm or config["digest_algorithm"]
    try:
        parse_length(length)
    except DigestError as error:
        raise click.BadParameter(str(error), param_hint="--sentences") from error
    if not files and jsonl is None:
        raise click.UsageError("give FILE... or --jsonl FILE")
    failed = False
    if jsonl is not None:
        failed = _digest_jsonl(jsonl, length, algorithm)
    for path in files:
        try:
            parsed = read_path(path)
        except ArticleError as error:
            click.echo(f"failed: {path}: {error}", err=True)
            failed = True
            continue
        for problem in parsed.problems:
            click.echo(f"failed: {problem.where}: {problem.reason}", err=True)
            failed = True
        for article in parsed.articles:
            result = summarize(article, length, algorithm)
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "id": article.id,
                            "title": article.headline,
                            "sentences": [asdict(s) for s in result.sentences],
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                click.echo(
                    f"{article.headline}\n{result.text or '(no digest: no usable sentences)'}\n"
                )
    sys.exit(1 if failed else 0)


def _digest_jsonl(stream, length: str, algorithm: str) -> bool:
    from index.articles import article_from_record

    failed = False
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ArticleError("each line must be a JSON object")
            record.setdefault("title", "")
            article: Article = article_from_record(
                record, origin="", key=f"line{number}", name=f"line-{number}"
            )
        except (json.JSONDecodeError, ArticleError) as error:
            click.echo(f"failed: line {number}: {error}", err=True)
            failed = True
            continue
        result = summarize(article, length, algorithm)
        click.echo(
            json.dumps(
                {
                    "id": record.get("id", article.id),
                    "sentences": [s.text for s in result.sentences],
                },
                ensure_ascii=False,
            )
        )
    return failed


def _filter_options(function):
    """The search filters, as `/api/search` takes them."""
    for name, help_text in reversed(
        [
            ("source", "Only articles from this source."),
            ("category", "Only articles in this category."),
            ("author", "Only articles by this author."),
            ("from", "Only articles dated on or after this day (YYYY-MM-DD)."),
            ("to", "Only articles dated on or before this day (YYYY-MM-DD)."),
        ]
    ):
        function = click.option(f"--{name}", f"{name}_", default="", help=help_text)(function)
    return function


@main.command()
@click.argument("query")
@index_option
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the briefing as JSON.")
def brief(query, index_dir, source_, category_, author_, from_, to_, as_json) -> None:
    """A briefing: one paragraph across the best matches of QUERY, each sentence with
    its source article and paragraph."""
    from index.briefing import brief as briefing_of

    from .params import BadSearch, search_request_from

    args = {"q": query, "source": source_, "category": category_, "author": author_}
    args |= {"from": from_, "to": to_}
    try:
        request = search_request_from(args, 10, group=_settings()["group_versions"])
    except BadSearch as error:
        raise click.UsageError(str(error)) from None
    found = briefing_of(_open(index_dir), request)
    if as_json:
        click.echo(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
        return
    if not found.sentences:
        click.echo(found.message, err=True)
        sys.exit(1)
    colour = _colour(sys.stdout)
    text = " ".join(
        f"{to_terminal(s.marked, colour)} [{s.source + 1}]" for s in found.sentences
    )
    click.echo(text)
    click.echo(f"\nFrom the {found.read} best of {found.total} matching articles:")
    for number, source in enumerate(found.sources, 1):
        meta = " · ".join(x for x in (source.source, source.date) if x)
        click.echo(f"[{number}] {source.title}  [{source.id}]" + (f"  {meta}" if meta else ""))
    for sentence in found.sentences:
        click.echo(f"  [{sentence.source + 1}] ¶{sentence.paragraph + 1} of {sentence.article_id}")


@main.command("related")
@click.argument("article_id", metavar="ID")
@index_option
@click.option(
    "--limit", type=click.IntRange(1, 20), default=5, show_default=True, help="Articles to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def related_command(article_id, index_dir, limit, as_json) -> None:
    """The articles most related to article ID (its own story's versions left out)."""
    from index.related import related, related_json

    found = related(_open(index_dir), article_id, limit, group=_settings()["group_versions"])
    if found is None:
        raise click.ClickException(f"no article with id {article_id!r}")
    if as_json:
        click.echo(json.dumps(related_json(article_id, found), ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No related articles found.", err=True)
    for result in found:
        meta = " · ".join(x for x in (result.date, result.source, result.category) if x)
        click.echo(f"{result.title}  [{result.id}]" + (f"  {meta}" if meta else ""))
        if result.short_digest:
            click.echo(f"  {result.short_digest}")


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--processes",
    type=click.IntRange(0, 256),
    default=None,
    help="Server processes (default: $PRECIS_PROCESSES, 0 = one per core).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="Threads per process (default: $PRECIS_THREADS or 4).",
)
def serve(index_dir, host, port, processes, threads) -> None:
    """Serve the web app: waitress in one process per core, sharing one socket."""
    from . import StartupError, create_app
    from .serving import Limits, default_processes, listen
    from .serving import serve as run_server

    config = _settings()
    overrides = {"INDEX": index_dir} if index_dir else None
    try:
        app = create_app(overrides)
    except (StartupError, settings_table.SettingsError) as error:
        raise click.ClickException(str(error)) from error
    processes = config["processes"] if processes is None else processes
    processes = processes or default_processes()
    limits = Limits(
        threads=threads or config["threads"],
        max_connections=config["max_connections"],
        client_timeout=config["client_timeout"],
        max_body_bytes=app.config["MAX_CONTENT_LENGTH"],
    )
    try:
        sock = listen(host, port)
    except OSError as error:
        raise click.ClickException(f"can't listen on {host}:{port}: {error.strerror}") from error
    click.echo(
        f"Precis is serving {app.config['INDEX']} on http://{host}:{port}/ "
        f"({processes} process{'es' if processes > 1 else ''}, {limits.threads} threads each)"
    )
    sys.exit(run_server(app, sock, processes=processes, limits=limits, say=_say))


def _say(message: str) -> None:
    click.echo(message, err=True)


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(index_dir, as_json) -> None:
    """Show article and paragraph counts, index size and the last ingest."""
    numbers = _open(index_dir).stats()
    if as_json:
        click.echo(json.dumps(asdict(numbers)))
        return
    click.echo(f"archive:     {numbers.path}")
    click.echo(f"articles:    {numbers.articles}")
    click.echo(f"paragraphs:  {numbers.paragraphs}")
    click.echo(f"size:        {numbers.size_bytes / 2**20:.1f} MB")
    click.echo(f"last ingest: {numbers.last_ingest or 'never'}")


@main.command()
@click.argument("article_id", metavar="ID")
@index_option
@wait_option("Seconds to wait for another writer to finish.")
def delete(article_id, index_dir, wait) -> None:
    """Delete the article ID and its paragraphs from the archive."""
    from index.ingest import delete_article

    archive = _open(index_dir)
    try:
        found = delete_article(archive, article_id, timeout=wait)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    if not found:
        raise click.ClickException(f"no article with id {article_id!r}")
    click.echo(f"deleted {article_id}")


@main.command()
@click.argument("destination", metavar="DEST", type=click.Path(path_type=Path))
@index_option
@wait_option("Seconds to wait for a running ingest to let the backup take its snapshot.")
def backup(destination, index_dir, wait) -> None:
    """Copy a consistent snapshot of the archive to DEST (a new or empty folder).

    Safe while Precis serves and ingests: writers pause only while the snapshot is linked.
    """
    from index.whoosh_backend import WhooshArchive
    from index.whoosh_backend.backup import backup as take_backup

    archive = _open(index_dir)
    if not isinstance(archive, WhooshArchive):
        raise click.ClickException(
            "backup copies a Whoosh archive folder; a Typesense cluster is backed up with "
            "its own snapshots (POST /operations/snapshot), or with `precis export`"
        )
    try:
        report = take_backup(archive, destination, timeout=wait)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"backed up {report.articles:,} articles ({report.size_bytes / 2**20:.1f} MB) "
        f"to {report.path}"
    )


@main.command()
@click.argument("source", metavar="SRC", type=click.Path(path_type=Path, exists=True))
@index_option
@click.option("--force", is_flag=True, help="Replace an archive that holds articles.")
@wait_option("Seconds to wait for another writer to finish.")
def restore(source, index_dir, force, wait) -> None:
    """Make the archive a copy of the backup in SRC (made by `precis backup`)."""
    from index.whoosh_backend.backup import restore as restore_backup

    settings = _settings()
    if not index_dir and settings["backend"] != "whoosh":
        raise click.ClickException(
            "restore fills a Whoosh archive folder: name it with --index, then "
            "`precis migrate --to typesense` to copy it into the cluster"
        )
    path = index_dir or settings["index"]
    try:
        report = restore_backup(source, path, force=force, timeout=wait)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {report.articles:,} articles into {report.path}")


@main.command()
@click.option(
    "--to",
    "to",
    type=click.Choice(["typesense", "whoosh"]),
    required=True,
    help="The backend to copy into.",
)
@index_option
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stderr is a terminal).",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Articles per write.",
)
@wait_option("Seconds to wait for another writer of the target to finish.")
def migrate(to, index_dir, progress, batch, wait) -> None:
    """Copy the archive into another backend, digests and stories as they are.

    `--to typesense` copies the Whoosh folder (--index, or $PRECIS_INDEX) into the cluster
    named by $PRECIS_TYPESENSE_NODES; `--to whoosh` copies the cluster back into the
    folder. Resumable: run it again after an interruption and it copies what is left.
    The counts are checked at the end.
    """
    from index.transfer import migrate as copy_archive

    settings = _settings()
    folder = {**settings, "backend": "whoosh", "index": index_dir or settings["index"]}
    cluster = {**settings, "backend": "typesense"}
    source_settings, target_settings = (folder, cluster) if to == "typesense" else (cluster, folder)
    try:
        source = open_archive(source_settings)
        target = open_archive(target_settings, create=True)
        show = sys.stderr.isatty() if progress is None else progress
        report = copy_archive(source, target, progress=_progress(show), batch=batch, timeout=wait)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{source.location} -> {target.location}: {report.summary()}")


@main.command()
@index_option
@click.option(
    "--jsonl",
    "target",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help='File to write ("-" for stdout): one article per line, in the ingest format.',
)
def export(index_dir, target) -> None:
    """Write every article as JSON Lines that `precis ingest` reads back unchanged."""
    from index.transfer import export_jsonl

    archive = _open(index_dir)
    if str(target) == "-":
        count = export_jsonl(archive, sys.stdout)
    else:
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("w", encoding="utf-8") as out:
                count = export_jsonl(archive, out)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    click.echo(f"exported {count:,} articles", err=str(target) == "-")


if __name__ == "__main__":
    main()
