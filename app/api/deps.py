"""Typed dependencies: settings, a database session per request, the current owner from the bearer token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import session_factory, utcnow
from app.errors import Unauthorized
from app.services.tokens import authenticate

bearer = HTTPBearer(auto_error=False, description="an API token from `mltrain tokens create`")


def get_settings_dep(request: Request) -> Settings:
    """The app's settings (set by create_app)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """A session committed when the request succeeds, rolled back otherwise."""
    session = session_factory(settings.database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_owner(session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The owner behind the bearer token; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    token = authenticate(session, token=credentials.credentials)
    token.last_used_at = utcnow()
    return token.owner


CurrentOwner = Annotated[str, Depends(get_owner)]


def get_enqueuer(request: Request) -> Callable[[str, str], None]:
    """The function that hands a job id to the broker (replaceable in tests)."""
    enqueue: Callable[[str, str], None] = request.app.state.enqueue
    return enqueue


EnqueueDep = Annotated[Callable[[str, str], None], Depends(get_enqueuer)]
