"""One batch job at a time asks a sweep's new trials, on any machine: a lease on the sweep row.

GridSampler picks an unvisited point from the trials the storage holds, so two batches asking at once could pick
the same point. The lease is two columns of `sweeps` set by one conditional UPDATE (committed at once, so it holds
no database lock while Optuna writes its journal); it expires, so a worker killed while asking blocks no one for
longer than LEASE_SECONDS.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from app.db import Sweep, utcnow
from app.db.retry import in_transaction

LEASE_SECONDS = 60.0
POLL_SECONDS = 0.1


def _take(session: Session, sweep_id: str, owner: str) -> bool:
    now = utcnow()
    taken = session.execute(
        update(Sweep)
        .where(Sweep.id == sweep_id, or_(Sweep.ask_owner.is_(None), Sweep.ask_expires < now))
        .values(ask_owner=owner, ask_expires=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0))


def _give_back(session: Session, sweep_id: str, owner: str) -> None:
    session.execute(
        update(Sweep)
        .where(Sweep.id == sweep_id, Sweep.ask_owner == owner)
        .values(ask_owner=None, ask_expires=None)
        .execution_options(synchronize_session=False)
    )


@contextmanager
def ask_lock(database_url: str, sweep_id: str, timeout: float = 2 * LEASE_SECONDS) -> Iterator[None]:
    """Hold the sweep's ask lease for the block; TimeoutError after `timeout` seconds of waiting."""
    owner, give_up = uuid.uuid4().hex, time.monotonic() + timeout
    while not in_transaction(database_url, lambda s: _take(s, sweep_id, owner), what=f"sweep {sweep_id}: ask lock"):
        if time.monotonic() > give_up:
            raise TimeoutError(f"sweep {sweep_id}: another batch held the ask lock for over {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        in_transaction(database_url, lambda s: _give_back(s, sweep_id, owner), what=f"sweep {sweep_id}: ask unlock")
