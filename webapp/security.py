"""Who may write, and forms that can't be forged: the write token, CSRF, the secret key.

Writing (adding articles from the browser or the API, deleting) is off unless a write
token is configured (`PRECIS_WRITE_TOKEN`) and the app is not read-only. The browser
presents the token once in the add form and the session remembers it; the API presents
it on each request as `Authorization: Bearer <token>`. Every form that writes carries a
CSRF token tied to the session. The session is signed with `PRECIS_SECRET_KEY`, or with a
random key generated on first start and kept beside the index (`secret_key`, mode 600).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from flask import Flask, current_app, request, session


def load_secret_key(app: Flask) -> None:
    """Give the app its session signing key (configured, or generated once and kept)."""
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.config["INDEX"]).parent / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    app.config["SECRET_KEY"] = path.read_text().strip()


def writes_enabled() -> bool:
    """Tell whether this app accepts writes at all."""
    return bool(current_app.config["WRITE_TOKEN"]) and not current_app.config["READ_ONLY"]


def token_matches(candidate: str | None) -> bool:
    """Compare a presented token with the configured one, in constant time."""
    expected = current_app.config["WRITE_TOKEN"]
    return bool(expected and candidate) and hmac.compare_digest(
        str(candidate).encode(), str(expected).encode()
    )


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
    return bool(sent) and "csrf" in session and hmac.compare_digest(sent, session["csrf"])
