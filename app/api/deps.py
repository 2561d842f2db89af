"""Typed dependencies: settings, a database session per request, the current owner, the enqueue function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import session_scope
from app.errors import Unauthorized
from app.services.tokens import authenticate, touch_if_due
from app.web.auth import session_from_request

bearer = HTTPBearer(auto_error=False, description="an API token from `mltrain tokens create`")
Enqueue = Callable[[str, str], None]


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings (set by create_app); async: an attribute read needs no trip through the thread pool."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _session(settings: Settings, *, read_only: bool) -> Iterator[Session]:
    with session_scope(settings.database_url, read_only=read_only) as session:
        yield session


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """A write session, committed when the request succeeds and rolled back otherwise."""
    yield from _session(settings, read_only=False)


def get_read_session(settings: SettingsDep) -> Iterator[Session]:
    """A session for requests that only read (on SQLite it never takes the write lock)."""
    yield from _session(settings, read_only=True)


SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def get_owner(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The owner behind the bearer token, else (GET/HEAD only) a dashboard session cookie; 401 without either."""
    if credentials is None:
        # The dashboard's pages read the events stream and download artifacts with their session cookie. Only
        # safe methods accept it: every change made through the API needs the bearer token (no CSRF surface).
        if request.method in ("GET", "HEAD") and (web := session_from_request(request, settings)) is not None:
            return web.owner
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    with session_scope(settings.database_url, read_only=True) as session:
        token = authenticate(session, token=credentials.credentials)
        owner, token_id, last_used = token.owner, token.id, token.last_used_at
    # last_used_at moves at most once a minute: most requests are one read, with no write lock on SQLite.
    touch_if_due(settings.database_url, token_id=token_id, last_used_at=last_used)
    return owner


CurrentOwner = Annotated[str, Depends(get_owner)]


def get_enqueuer(request: Request) -> Enqueue:
    """The function that hands a committed job id to the broker (tests override this dependency)."""
    enqueue: Enqueue = request.app.state.enqueue
    return enqueue


EnqueueDep = Annotated[Enqueue, Depends(get_enqueuer)]
