"""The sweep's Optuna journal in the database and its ask lease, with many writers at once (threads here, worker
processes in production): the logs stay gapless and in each writer's order, and concurrent grid batches never
draw the same point. SQLite always, PostgreSQL under the integration mark."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app import objects
from app.db import Sweep, SweepJournalEntry, session_scope
from app.migrate import upgrade
from app.sweep_ask_lock import ask_lock
from app.sweep_journal import DatabaseJournalBackend, sweep_storage
from ml.config import TrainConfig
from ml.sweep.search import ask_batch, open_study
from ml.sweep.space import parse_space
from tests.app.conftest import create_postgres_database, drop_postgres_database

WRITERS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of either dialect."""
    url = f"sqlite:///{tmp_path / 'journal.db'}" if request.param == "sqlite" else create_postgres_database()
    upgrade(url)
    try:
        yield url
    finally:
        if request.param == "postgresql":
            drop_postgres_database(url)


def _sweep(url: str) -> str:
    sweep_id = objects.new_id()
    with session_scope(url) as session:
        session.add(Sweep(id=sweep_id, owner="t", model="groove_predictor", params={}, space={}, strategy="grid",
                          trials=8, batch_size=2, objective="val_loss", pruner="none"))  # fmt: skip
    return sweep_id


def _together(work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_concurrent_appends_are_gapless_and_keep_each_writers_order(database: str) -> None:
    sweep_id = _sweep(database)

    def append(writer: int) -> None:
        backend = DatabaseJournalBackend(database, sweep_id)
        for n in range(20):
            backend.append_logs([{"writer": writer, "n": n, "part": 0}, {"writer": writer, "n": n, "part": 1}])

    _together(append)
    with session_scope(database) as session:
        seqs = session.scalars(select(SweepJournalEntry.seq).where(SweepJournalEntry.sweep_id == sweep_id)).all()
    assert sorted(seqs) == list(range(WRITERS * 40))
    logs = list(DatabaseJournalBackend(database, sweep_id).read_logs(0))
    for writer in range(WRITERS):
        mine = [(log["n"], log["part"]) for log in logs if log["writer"] == writer]
        assert mine == [(n, part) for n in range(20) for part in (0, 1)]
    for first, second in zip(logs[::2], logs[1::2], strict=True):  # one append's logs stay together
        assert (first["writer"], first["n"], first["part"], second["part"]) == (second["writer"], second["n"], 0, 1)
    assert list(DatabaseJournalBackend(database, sweep_id).read_logs(len(logs) - 1)) == logs[-1:]


def test_concurrent_grid_batches_under_the_ask_lease_draw_every_point_once(database: str) -> None:
    sweep_id = _sweep(database)
    params = parse_space("groove_predictor", {"lr": {"grid": [1e-4, 3e-4, 1e-3, 3e-3]},
                                              "weight_decay": {"grid": [0.0, 0.1]}}, TrainConfig())  # fmt: skip
    drawn: list[tuple[float, float]] = []

    def batch(index: int) -> None:
        with ask_lock(database, sweep_id):
            study = open_study(None, "grid", params, 0, "none", storage=sweep_storage(database, sweep_id))
            handles = ask_batch(study, params, 2)
        for handle in handles:
            drawn.append((handle.params["lr"], handle.params["weight_decay"]))
            study.tell(handle, 1.0)

    _together(batch)
    assert sorted(drawn) == sorted((lr, wd) for lr in (1e-4, 3e-4, 1e-3, 3e-3) for wd in (0.0, 0.1))
    with session_scope(database) as session:
        assert session.get(Sweep, sweep_id).ask_owner is None  # type: ignore[union-attr]  # the lease was given back
