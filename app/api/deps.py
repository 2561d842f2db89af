"""Typed dependencies: settings, database sessions, the caller's credentials and owner, the enqueue function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.api.auth import Credentials, credentials_of
from app.config import Settings
from app.db import session_scope

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


async def get_credentials(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Credentials:
    """The request's credentials, from its headers only (async: no thread-pool hop; 401 here if it has none)."""
    return credentials_of(request, settings, credentials.credentials if credentials else None)


CredentialsDep = Annotated[Credentials, Depends(get_credentials)]


def get_owner(credentials: CredentialsDep) -> str:
    """The owner behind the bearer token, else (GET/HEAD only) a dashboard session cookie; 401 without either."""
    url = credentials.settings.database_url
    with session_scope(url, read_only=True) as session:
        caller = credentials.identify(session)
    # last_used_at moves at most once a minute: most requests are one read, with no write lock on SQLite.
    caller.record_use(url)
    return caller.owner


CurrentOwner = Annotated[str, Depends(get_owner)]


def get_enqueuer(request: Request) -> Enqueue:
    """The function that hands a committed job id to the broker (tests override this dependency)."""
    enqueue: Enqueue = request.app.state.enqueue
    return enqueue


EnqueueDep = Annotated[Enqueue, Depends(get_enqueuer)]
