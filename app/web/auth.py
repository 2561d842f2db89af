"""Dashboard sessions: a signed, expiring cookie that carries an API token's id, and the per-session CSRF token.

The cookie is `base64url(json {"t": token_id, "e": expiry, "n": nonce}) . base64url(hmac)`; the HMAC (sha256) is
keyed with the server's session secret and also covers the token's stored hash, so a cookie is only valid for the
token row it names. Each request re-reads that row: revoking the token ends its sessions at once. The CSRF token
is an HMAC of the session's random nonce: forms carry it in a hidden field and every change checks it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import Request, Response
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import ApiToken, session_scope

COOKIE_NAME = "mltrain_session"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 8 * 3600
SECRET_ENV = "MLTRAIN_SESSION_SECRET"
SECRET_FILE = "session-secret"


@dataclass(frozen=True)
class WebSession:
    """A verified session: whose it is, which token it came from, and its CSRF token."""

    owner: str
    token_id: int
    token_name: str
    csrf: str
    expires_at: int


@lru_cache(maxsize=8)
def _secret_from_file(path: Path) -> bytes:
    """The secret in `path`, created (0600, exclusively) on first use so every API process shares it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    value = path.read_text().strip()
    if len(value) < 32:
        raise RuntimeError(f"the session secret in {path} is shorter than 32 characters; delete it to make a new one")
    return value.encode()


def session_secret(settings: Settings) -> bytes:
    """MLTRAIN_SESSION_SECRET if set, else OBJECT_DIR/session-secret (shared by the API processes)."""
    value = os.environ.get(SECRET_ENV)
    if value:
        return value.encode()
    return _secret_from_file((settings.object_dir / SECRET_FILE).resolve())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str, token_hash: str) -> bytes:
    return hmac.new(secret, f"{payload}|{token_hash}".encode(), hashlib.sha256).digest()


def csrf_for(secret: bytes, nonce: str) -> str:
    """The CSRF token of the session with this nonce."""
    return hmac.new(secret, f"csrf|{nonce}".encode(), hashlib.sha256).hexdigest()


def make_cookie(settings: Settings, token: ApiToken, *, now: float | None = None) -> str:
    """A fresh session cookie value for a live token row."""
    expires = int(now if now is not None else time.time()) + SESSION_SECONDS
    body = json.dumps({"t": token.id, "e": expires, "n": secrets.token_urlsafe(16)}, separators=(",", ":"))
    payload = _b64(body.encode())
    return f"{payload}.{_b64(_mac(session_secret(settings), payload, token.token_hash))}"


@dataclass(frozen=True)
class _Claims:
    """A well-formed, unexpired cookie's contents, not yet checked against its token row."""

    payload: str
    signature: bytes
    token_id: int
    expires: int
    nonce: str


def _claims(value: str | None, now: float | None) -> _Claims | None:
    if not value or value.count(".") != 1 or len(value) > 1024:
        return None
    payload, signature = value.split(".")
    try:
        data = json.loads(_unb64(payload))
        claims = _Claims(payload, _unb64(signature), int(data["t"]), int(data["e"]), str(data["n"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return claims if claims.expires >= (now if now is not None else time.time()) else None


def read_session(settings: Settings, value: str | None, *, now: float | None = None) -> WebSession | None:
    """The session a cookie value stands for, or None (malformed, forged, expired, or its token revoked)."""
    if _claims(value, now) is None:  # no database session for a missing or malformed cookie
        return None
    with session_scope(settings.database_url, read_only=True) as db:
        return read_session_in(db, settings, value, now=now)


def read_session_in(
    db: Session, settings: Settings, value: str | None, *, now: float | None = None
) -> WebSession | None:
    """read_session in the caller's database session (API reads check the cookie in the session they read with)."""
    claims = _claims(value, now)
    if claims is None:
        return None
    token = db.get(ApiToken, claims.token_id)
    if token is None or token.revoked_at is not None:
        return None
    secret = session_secret(settings)
    if not hmac.compare_digest(claims.signature, _mac(secret, claims.payload, token.token_hash)):
        return None
    csrf = csrf_for(secret, claims.nonce)
    return WebSession(token.owner, claims.token_id, token.name, csrf, claims.expires)


def session_from_request(request: Request, settings: Settings) -> WebSession | None:
    """The request's verified session, if it carries one."""
    return read_session(settings, request.cookies.get(COOKIE_NAME))


def csrf_ok(session: WebSession, submitted: object) -> bool:
    """True if the submitted form value is this session's CSRF token."""
    return isinstance(submitted, str) and hmac.compare_digest(submitted.encode(), session.csrf.encode())


def is_https(request: Request) -> bool:
    """True if the client reached us over HTTPS (directly, or as a proxy's X-Forwarded-Proto says)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, expiring with the session."""
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=is_https(request))


SIGNIN_COOKIE = "mltrain_signin"


def new_signin_nonce() -> str:
    """A random value for the sign-in form's pre-session cookie (login CSRF: a double-submit check)."""
    return secrets.token_urlsafe(16)


def signin_csrf(settings: Settings, nonce: str) -> str:
    """The sign-in form's CSRF token for the pre-session cookie holding `nonce`."""
    return hmac.new(session_secret(settings), f"signin|{nonce}".encode(), hashlib.sha256).hexdigest()


def signin_csrf_ok(settings: Settings, nonce: str | None, submitted: object) -> bool:
    """True if the sign-in form came from our own page (its hidden field matches its pre-session cookie)."""
    if not nonce or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(submitted.encode(), signin_csrf(settings, nonce).encode())


def set_signin_cookie(response: Response, request: Request, nonce: str) -> None:
    """Attach the sign-in form's pre-session cookie (10 minutes, HttpOnly, SameSite=Strict)."""
    response.set_cookie(
        SIGNIN_COOKIE, nonce, max_age=600, path="/signin", httponly=True, samesite="strict", secure=is_https(request)
    )
