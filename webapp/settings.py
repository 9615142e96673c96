"""Precis's settings: one table of (name, default, help), read from `PRECIS_*` variables.

Every setting can be given as an environment variable named `PRECIS_<NAME>` or in an
optional instance config file (`instance/precis.toml`, or the file named by
`PRECIS_CONFIG`); the environment wins. The README's settings table is checked
against this one by a test, so the two can't drift apart.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{value!r} is not a yes/no value")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def variable(self) -> str:
        return f"PRECIS_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "backend",
        "whoosh",
        "Where the archive lives: whoosh (a folder on this machine) or typesense (a cluster).",
    ),
    Setting("index", "instance/index", "Folder of the archive's Whoosh index."),
    Setting(
        "typesense_nodes",
        "",
        "Typesense backend: every node of the cluster, comma-separated "
        "(`http://10.0.0.1:8108,http://10.0.0.2:8108`), so that the client fails over.",
    ),
    Setting("typesense_api_key", "", "Typesense backend: the cluster's API key."),
    Setting(
        "typesense_collection",
        "precis",
        "Typesense backend: prefix of the archive's collections (several archives can share "
        "a cluster).",
    ),
    Setting("page_size", 10, "Search results per page.", int),
    Setting(
        "group_versions",
        True,
        "One search result per story, its other versions (copies, updates) listed under it.",
        _boolean,
    ),
    Setting(
        "digest_length", "3", "Digest length: sentences (3), a share (20%) or words (60 words)."
    ),
    Setting("digest_algorithm", "precis", "Digest method: precis, lead or a sumy algorithm."),
    Setting(
        "max_upload_mb", 20, "Largest upload accepted from the browser or the API, in MB.", int
    ),
    Setting("max_files", 200, "Most files one upload may hold.", int),
    Setting(
        "max_article_chars", 500_000, "Longest article accepted, in characters of body text.", int
    ),
    Setting("max_article_paragraphs", 5_000, "Most paragraphs one article may have.", int),
    Setting("read_only", False, "Refuse every write (ingest from the web, delete).", _boolean),
    Setting("write_token", "", "Key that web and API writes must present; empty disables them."),
    Setting("workers", 2, "Worker processes that compute digests during ingest.", int),
    Setting(
        "ingest_batch",
        2000,
        "Articles per commit during ingest: what a killed ingest redoes; fewer, larger commits "
        "leave fewer index segments to search.",
        int,
    ),
    Setting(
        "secret_key",
        "",
        "Key that signs sessions; empty: one is made and kept in the index folder.",
    ),
    Setting("processes", 0, "Server processes for `precis serve`; 0 means one per core.", int),
    Setting("threads", 4, "Request threads in each server process.", int),
    Setting("max_connections", 1000, "Open connections each server process accepts.", int),
    Setting("client_timeout", 30, "Seconds a connection may stay idle before it is closed.", int),
    Setting(
        "proxy_hops",
        0,
        "Reverse proxies in front of Precis whose X-Forwarded-* headers are trusted (0: none).",
        int,
    ),
    Setting(
        "secure_cookies", False, "Mark the session cookie Secure even on plain HTTP.", _boolean
    ),
    Setting(
        "warm",
        True,
        "Read the index's longest postings lists into memory in the background on start.",
        _boolean,
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value that can't be used."""


def load(
    environ: Mapping[str, str] | None = None, config_file: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Return every setting's value: defaults, then the config file, then the environment."""
    environ = os.environ if environ is None else environ
    values = {setting.name: setting.default for setting in SETTINGS}
    path = Path(config_file or environ.get("PRECIS_CONFIG", "instance/precis.toml"))
    if path.is_file():
        try:
            from_file = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"can't read settings file {path}: {error}") from error
        for name, value in from_file.items():
            if name not in BY_NAME:
                raise SettingsError(f"unknown setting {name!r} in {path}")
            values[name] = _convert(BY_NAME[name], value, str(path))
    for setting in SETTINGS:
        if setting.variable in environ:
            values[setting.name] = _convert(setting, environ[setting.variable], setting.variable)
    return values


def _convert(setting: Setting, value: Any, where: str) -> Any:
    if isinstance(value, str):
        try:
            return setting.parse(value)
        except ValueError as error:
            raise SettingsError(f"{where}: bad value for {setting.name}: {error}") from error
    return value


def markdown_table() -> str:
    """Return the settings as the Markdown table the README shows."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for setting in SETTINGS:
        default = setting.default
        shown = (
            "(empty)"
            if default == ""
            else str(default).lower()
            if isinstance(default, bool)
            else str(default)
        )
        rows.append(f"| `{setting.variable}` | `{shown}` | {setting.help} |")
    return "\n".join(rows)
