"""Optuna's journal of a sweep in the service database: a JournalStorage backend on the sweep_journal table.

Every batch job of a sweep, on any machine, opens the same study through this backend, so the sampler's history
and the running trials live where the jobs do (SQLite or PostgreSQL) instead of in a file every worker must see.
Optuna replays the logs in order and asks only for those after the last one it read, so the sequence numbers must
never show a gap: an append takes max(seq) + 1 in its own write transaction, and on SQLite (writes serialized
by BEGIN IMMEDIATE) that is all; on PostgreSQL two appends that read the same max collide on the primary key and
the loser retries, so a number is only ever visible once every lower one is committed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import SweepJournalEntry, session_scope
from app.db.retry import in_transaction

log = logging.getLogger(__name__)
APPEND_DEADLINE_SECONDS = 60.0


class DatabaseJournalBackend(BaseJournalBackend):
    """The logs of one sweep's study, by sequence number, in the sweep_journal table of `database_url`."""

    def __init__(self, database_url: str, sweep_id: str) -> None:
        self.database_url, self.sweep_id = database_url, sweep_id

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        """Every log from number `log_number_from` on, in order."""
        with session_scope(self.database_url, read_only=True) as session:
            texts = session.scalars(
                select(SweepJournalEntry.log)
                .where(SweepJournalEntry.sweep_id == self.sweep_id, SweepJournalEntry.seq >= log_number_from)
                .order_by(SweepJournalEntry.seq)
            ).all()
        return (json.loads(text) for text in texts)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append `logs` as consecutive numbers after the last one, all or none."""
        if not logs:
            return
        texts = [json.dumps(entry) for entry in logs]
        delay, give_up = 0.01, time.monotonic() + APPEND_DEADLINE_SECONDS
        while True:
            try:
                in_transaction(self.database_url, lambda session: self._append(session, texts), what="sweep journal")
                return
            except IntegrityError:  # another worker took those numbers first: read the new end and go again
                if time.monotonic() > give_up:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _append(self, session: Session, texts: list[str]) -> None:
        last = session.scalar(
            select(func.max(SweepJournalEntry.seq)).where(SweepJournalEntry.sweep_id == self.sweep_id)
        )
        start = -1 if last is None else int(last)
        session.add_all(
            SweepJournalEntry(sweep_id=self.sweep_id, seq=start + 1 + i, log=text) for i, text in enumerate(texts)
        )
        session.flush()


def sweep_storage(database_url: str, sweep_id: str) -> JournalStorage:
    """The Optuna storage every batch job of sweep `sweep_id` shares."""
    return JournalStorage(DatabaseJournalBackend(database_url, sweep_id))
