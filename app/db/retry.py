"""Retry a short transaction on transient database errors (serialization failures, dropped connections)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.db.session import session_scope

log = logging.getLogger(__name__)
T = TypeVar("T")
# SQLSTATE classes that mean "try the same transaction again": 40001 serialization failure, 40P01 deadlock,
# 08xxx connection exceptions, 57P0x admin/crash shutdown of the server.
TRANSIENT_SQLSTATES = ("40001", "40P01", "08", "57P0")


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry of the whole transaction may cure."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(TRANSIENT_SQLSTATES)
    return isinstance(exc, OperationalError)  # SQLite "database is locked", a closed socket without a SQLSTATE


def in_transaction(database_url: str, work: Callable[[Session], T], *, what: str, deadline_seconds: float = 30.0) -> T:
    """Run `work` in its own transaction, again with exponential backoff while it fails transiently."""
    delay, give_up = 0.05, time.monotonic() + deadline_seconds
    while True:
        try:
            with session_scope(database_url) as session:
                return work(session)
        except DBAPIError as exc:
            if not is_transient(exc) or time.monotonic() + delay > give_up:
                raise
            log.warning("%s: transient database error, retrying in %.2f s: %s", what, delay, exc.orig)
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
