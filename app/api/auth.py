"""Who is calling: the credentials a request presents, checked against the token rows in a given session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Unauthorized
from app.services.tokens import authenticate, touch_if_due
from app.web.auth import COOKIE_NAME, read_session_in

MISSING = "missing bearer token (Authorization: Bearer <token>)"


@dataclass(frozen=True)
class Caller:
    """An authenticated owner; token_id and last_used_at are set for a bearer token (the one use worth recording)."""

    owner: str
    token_id: int | None = None
    last_used_at: datetime | None = None

    def record_use(self, database_url: str) -> None:
        """Move the bearer token's last_used_at if a minute has passed; call it after the read session closed."""
        if self.token_id is not None:
            touch_if_due(database_url, token_id=self.token_id, last_used_at=self.last_used_at)


@dataclass(frozen=True)
class Credentials:
    """A request's bearer token, else (GET/HEAD only) its dashboard cookie; checking them needs a session."""

    settings: Settings
    token: str | None
    cookie: str | None

    def identify(self, session: Session) -> Caller:
        """The caller these credentials stand for, read in `session`; Unauthorized if they are not valid now."""
        if self.token is not None:
            row = authenticate(session, token=self.token)
            return Caller(row.owner, row.id, row.last_used_at)
        web = read_session_in(session, self.settings, self.cookie)
        if web is None:
            raise Unauthorized(MISSING)
        return Caller(web.owner)


def credentials_of(request: Request, settings: Settings, token: str | None) -> Credentials:
    """The request's bearer token, else its dashboard cookie on GET/HEAD; Unauthorized (no database read) without."""
    if token is not None:
        return Credentials(settings, token, None)
    # The dashboard's pages read the API (events stream, artifacts) with their session cookie. Only safe methods
    # accept it: every change made through the API needs the bearer token (no CSRF surface).
    cookie = request.cookies.get(COOKIE_NAME) if request.method in ("GET", "HEAD") else None
    if cookie is None:
        raise Unauthorized(MISSING)
    return Credentials(settings, None, cookie)
