"""Precis's web app: `create_app` builds the Flask app around one open archive.

Settings come from `webapp.settings` (defaults, then `PRECIS_*` variables), then
from the `config` mapping given here (tests pass a temporary index this way).
Pages live in `views`, the JSON API in `api`; both reach the engine only
through the archive's plain functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from index.store import WhooshArchive

from . import security, settings

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the Precis app; `config` overrides settings (keys in upper case, e.g. INDEX)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping({name.upper(): value for name, value in settings.load().items()})
    if config:
        app.config.from_mapping(config)
    app.config["INDEX"] = str(Path(app.config["INDEX"]).resolve())
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_UPLOAD_MB"]) * 2**20
    app.extensions["precis.archive"] = WhooshArchive(app.config["INDEX"], create=True)
    security.load_secret_key(app)
    app.add_template_global(security.csrf_token)
    app.add_template_global(security.writes_enabled)

    from . import add, api, views

    app.register_blueprint(views.pages)
    app.register_blueprint(api.api)
    app.register_blueprint(add.adding)
    views.register_error_pages(app)
    return app


def archive_of(app: Flask) -> WhooshArchive:
    """Return the archive the app serves."""
    return app.extensions["precis.archive"]
