"""Who may write, forms that can't be forged, and what every response tells the browser.

Writing (adding articles from the browser or the API, deleting) is off unless a write
token is configured (`PRECIS_WRITE_TOKEN`) and the app is not read-only. The browser
presents the token once in the add form and the session remembers a fingerprint of it
(an HMAC under the secret key), so a new token revokes every session the old one granted.
The API presents the token on each request as `Authorization: Bearer <token>`. Every form
that writes carries a CSRF token tied to the session.

The session is signed with `PRECIS_SECRET_KEY`, or with a random key made on first start
and kept inside the archive's folder (`secret_key`, created 0600 in one step). A key file
that is empty, readable by others or owned by someone else is refused at start-up: a
planted key would let anyone forge a writer's session.

Every response carries a Content-Security-Policy without inline script, `nosniff`, frame
denial and a Referrer-Policy; the session cookie is HttpOnly, SameSite=Lax, and Secure on
HTTPS (behind a proxy, once the operator says the proxy is there).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

KEY_FILE = "secret_key"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecretKeyError(RuntimeError):
    """The secret key can't be made or can't be trusted; the message says what to do."""


# --- the secret key ------------------------------------------------------------------------


def load_secret_key(app: Flask) -> None:
    """Give the app its session signing key: configured, or kept in the archive's folder.

    A read-only Precis that finds no key file uses a key for this run only: it has no
    writing session to protect.
    """
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.config["INDEX"]) / KEY_FILE
    if not path.exists():
        if app.config["READ_ONLY"]:
            app.config["SECRET_KEY"] = secrets.token_hex(32)
            return
        _create_key(path)
    app.config["SECRET_KEY"] = read_key(path)


def _create_key(path: Path) -> None:
    """Write a new random key to `path` atomically, mode 0600; never overwrite one."""
    temporary = path.with_name(f".{KEY_FILE}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if another process made one first: keep theirs
        except FileExistsError:
            pass
    except OSError as error:
        raise SecretKeyError(
            f"can't create the secret key {path}: {error.strerror or error}. Free some space "
            "or fix the folder's permissions, set PRECIS_SECRET_KEY, or start read-only "
            "(PRECIS_READ_ONLY=1)"
        ) from error
    finally:
        with suppress(OSError):  # on a read-only disk even this unlink fails
            temporary.unlink(missing_ok=True)


def read_key(path: Path) -> str:
    """Read a key file, refusing one that is empty, shared or someone else's."""
    try:
        info = path.stat()
        key = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise SecretKeyError(f"can't read the secret key {path}: {error}") from error
    if not key:
        raise SecretKeyError(
            f"the secret key {path} is empty (a disk that was full when it was made?); "
            "delete it and Precis makes a new one"
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(
            f"the secret key {path} can be read by other users (mode "
            f"{stat.S_IMODE(info.st_mode):o}); run `chmod 600 {path}` or delete it"
        )
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise SecretKeyError(
            f"the secret key {path} belongs to another user (uid {info.st_uid}); delete it "
            "and Precis makes a new one"
        )
    return key


# --- writers -------------------------------------------------------------------------------


def writes_enabled_config(config: Mapping[str, Any]) -> bool:
    """Tell whether an app with this configuration accepts writes at all."""
    return bool(config["WRITE_TOKEN"]) and not config["READ_ONLY"]


def token_matches_config(config: Mapping[str, Any], candidate: str | None) -> bool:
    """Compare a presented token with the configured one, in constant time."""
    expected = config["WRITE_TOKEN"]
    return bool(expected and candidate) and hmac.compare_digest(
        str(candidate).encode(), str(expected).encode()
    )


def writes_enabled() -> bool:
    """Tell whether this app accepts writes at all."""
    return writes_enabled_config(current_app.config)


def why_writes_are_off() -> str:
    """Say truthfully why this Precis refuses writes ("" when it accepts them)."""
    if current_app.config["READ_ONLY"]:
        return "This Precis is read-only (PRECIS_READ_ONLY)."
    if not current_app.config["WRITE_TOKEN"]:
        return "Writing is switched off: no write token is set (PRECIS_WRITE_TOKEN)."
    return ""


def token_matches(candidate: str | None) -> bool:
    """Compare a presented token with the configured one, in constant time."""
    return token_matches_config(current_app.config, candidate)


def _fingerprint(token: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"writer:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def grant_writer() -> None:
    """Remember in the session that it presented the current write token."""
    session["writer"] = _fingerprint(str(current_app.config["WRITE_TOKEN"]))


def is_writer() -> bool:
    """Tell whether the session was granted writing by the token configured *now*."""
    granted = session.get("writer")
    if not isinstance(granted, str) or not writes_enabled():
        return False
    return hmac.compare_digest(granted, _fingerprint(str(current_app.config["WRITE_TOKEN"])))


def bearer_token() -> str | None:
    """Return the token of an `Authorization: Bearer ...` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def csrf_token() -> str:
    """Return this session's CSRF token, making one if needed (for templates)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_valid() -> bool:
    """Tell whether the submitted form carries this session's CSRF token."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    return bool(sent) and isinstance(expected, str) and hmac.compare_digest(sent, expected)


# --- what pages show ----------------------------------------------------------------------

_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(value: Any) -> Any:
    """Drop bidirectional overrides and isolates from every value a template prints.

    Ingest removes them already; this covers archives made before it did.
    """
    if isinstance(value, Markup):
        return Markup(_BIDI_CONTROLS.sub("", str(value)))
    if isinstance(value, str):
        return _BIDI_CONTROLS.sub("", value)
    return value


# --- headers and cookies -------------------------------------------------------------------


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (bool(request) and request.is_secure)


def protect(app: Flask) -> None:
    """Set the cookie policy and add the security headers to every response."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(app.config.get("SECURE_COOKIES")),
        SESSION_COOKIE_NAME="precis_session",
    )
    app.session_interface = _SessionInterface()

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
