"""Precis's web app: `create_app` builds the Flask app around one open archive.

Settings come from `webapp.settings` (defaults, then `PRECIS_*` variables), then
from the `config` mapping given here (tests pass a temporary index this way).
Pages live in `views`, the JSON API in `api`, the Atom feeds of searches in `feed`; all
reach the engine only through the archive's plain functions. Every request reads one snapshot of the
index from start to finish (`WhooshArchive.reading`), so a search that runs while
an ingest commits sees the archive wholly before or wholly after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from index.archive import Archive, ArchiveError, open_archive

from . import security, settings

ROOT = Path(__file__).resolve().parent.parent


class StartupError(RuntimeError):
    """The app can't start; the message says why and what to do."""


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
    app.config["MAX_FORM_PARTS"] = int(app.config["MAX_FILES"]) + 10
    try:
        # A read-only Precis never creates anything: the archive must exist already.
        archive = open_archive(
            {name.lower(): value for name, value in app.config.items()},
            create=not app.config["READ_ONLY"],
        )
        security.load_secret_key(app)
    except (ArchiveError, security.SecretKeyError) as error:
        raise StartupError(str(error)) from error
    app.extensions["precis.archive"] = archive
    security.protect(app)
    hops = int(app.config["PROXY_HOPS"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.jinja_env.finalize = security.without_bidi_controls
    app.add_template_global(security.csrf_token)
    app.add_template_global(security.writes_enabled)

    @app.before_request
    def pin_snapshot() -> None:
        g.precis_reading = ExitStack()
        if request.endpoint == "static":  # files from disk: nothing to read from the index
            return
        try:
            g.precis_reading.enter_context(archive.reading())
        except Exception:  # an unreadable archive: each view (and /healthz) reports it
            app.logger.exception("can't open a snapshot of the archive")

    @app.teardown_request
    def release_snapshot(error: BaseException | None) -> None:
        reading = g.pop("precis_reading", None)
        if reading is not None:
            reading.close()
            if app.config["WARM"]:
                # Once per generation and process, after the answer: not in its way.
                archive.warm_in_background()

    from . import add, api, feed, views

    app.register_blueprint(views.pages)
    app.register_blueprint(api.api)
    app.register_blueprint(add.adding)
    app.register_blueprint(feed.feeds)
    views.register_error_pages(app)
    return app


def hold_reading() -> ExitStack:
    """Take the request's pinned view of the archive (see `pin_snapshot`) out of the
    request's teardown and return it: the caller closes it. A streamed answer, which is
    read after the request's teardown, holds it until the answer is closed."""
    reading = g.pop("precis_reading", None)
    return reading if reading is not None else ExitStack()


def archive_of(app: Flask) -> Archive:
    """Return the archive the app serves."""
    return app.extensions["precis.archive"]
