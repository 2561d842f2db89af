"""API tokens: random, stored as sha256, looked up by hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.db import ApiToken, session_scope, utcnow
from app.errors import Conflict, NotFound, Unauthorized


def hash_token(token: str) -> str:
    """sha256 hex of a token (tokens are 256-bit random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, owner: str | None = None) -> str:
    """Create a token named `name` for `owner` (default: the name); returns the token, shown once."""
    if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
        raise Conflict(f"a token named {name!r} already exists")
    token = "mlt_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, owner=owner or name, token_hash=hash_token(token), prefix=token[:12]))
    session.flush()
    return token


def authenticate(session: Session, *, token: str) -> ApiToken:
    """The live token row for `token`, else Unauthorized."""
    digest = hash_token(token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by hash; compare_digest keeps the final check constant-time anyway.
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        raise Unauthorized("invalid or revoked token")
    return row


TOUCH_INTERVAL = timedelta(seconds=60)


def touch_due(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """True when the token's recorded use is older than TOUCH_INTERVAL (or was never recorded)."""
    return last_used_at is None or (now or utcnow()) - last_used_at >= TOUCH_INTERVAL


def touch_token(session: Session, *, token_id: int, last_used_at: datetime | None) -> None:
    """Record the token's use at most once per TOUCH_INTERVAL: a no-op unless due, then one conditional UPDATE
    (of concurrent requests that all saw a stale value, only the first matches; the rest change nothing)."""
    now = utcnow()
    if not touch_due(last_used_at, now):
        return
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_INTERVAL)
    session.execute(update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used_at=now))


def touch_if_due(database_url: str, *, token_id: int, last_used_at: datetime | None) -> None:
    """touch_token in its own write session, opened only when due: most requests open none."""
    if touch_due(last_used_at):
        with session_scope(database_url) as session:
            touch_token(session, token_id=token_id, last_used_at=last_used_at)


def revoke_token(session: Session, *, name: str) -> None:
    """Revoke a token by name."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFound(f"no token named {name!r}")
    row.revoked_at = utcnow()


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token row, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def has_tokens(session: Session) -> bool:
    """True if any live token exists."""
    return session.scalar(select(ApiToken.id).where(ApiToken.revoked_at.is_(None)).limit(1)) is not None
