"""A serialization failure (SQLSTATE 40001) raised by a real PostgreSQL trigger on a metrics write is retried."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.config import Settings
from app.db import Job, JobMetric, session_scope
from app.migrate import upgrade
from tests.app.conftest import create_postgres_database, drop_postgres_database
from worker.runner import JobCallbacks

pytestmark = pytest.mark.integration

# nextval is not rolled back with the failed transaction, so the trigger fails exactly the first insert.
FAIL_FIRST_INSERT = (
    "CREATE SEQUENCE metrics_fault",
    """CREATE FUNCTION metrics_fault() RETURNS trigger AS $$
    BEGIN
      IF nextval('metrics_fault') = 1 THEN
        RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = 'serialization_failure';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER metrics_fault BEFORE INSERT ON job_metrics FOR EACH ROW EXECUTE FUNCTION metrics_fault()",
)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    url = create_postgres_database()
    upgrade(url)
    try:
        yield Settings(database_url=url, broker_url="memory://", object_dir=tmp_path)
    finally:
        drop_postgres_database(url)


def test_a_serialization_failure_on_a_metrics_write_is_retried(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = uuid.uuid4().hex
    with session_scope(settings.database_url) as session:
        session.add(Job(id=job_id, owner="o", type="train", model="groove_predictor", synthetic=True, params={}))
        session.flush()
        session.execute(text("UPDATE jobs SET status = 'running', attempt = 1 WHERE id = :id"), {"id": job_id})
        for statement in FAIL_FIRST_INSERT:
            session.execute(text(statement))
    callbacks = JobCallbacks(settings, job_id, attempt=1, models=1)
    callbacks.on_train_start("groove_predictor", total_epochs=2, start_epoch=0)
    with caplog.at_level(logging.WARNING, logger="app.db.retry"):
        callbacks.on_epoch_end("groove_predictor", {"epoch": 1, "train_loss": 1.0})
        callbacks.before_checkpoint("groove_predictor", 1)
        callbacks.on_epoch_end("groove_predictor", {"epoch": 2, "train_loss": 0.5})
    assert "transient database error" in caplog.text and "injected serialization failure" in caplog.text
    assert callbacks.stop_reason is None  # the job goes on: a retry, not a failure
    with session_scope(settings.database_url) as session:
        epochs = session.scalars(select(JobMetric.epoch).where(JobMetric.job_id == job_id)).all()
        fired = session.scalar(text("SELECT last_value FROM metrics_fault"))
    assert sorted(epochs) == [1, 2] and fired == 3  # one failed insert, then both rows once
