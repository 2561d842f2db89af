"""Fenced state changes and the sweeper, against a real migrated database."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from app import jobstate
from app.config import Settings
from app.db import Job, session_scope, utcnow
from app.migrate import upgrade
from app.services.jobs import cancel_job
from worker.sweeper import sweep_once


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", broker_url="memory://", object_dir=tmp_path)
    upgrade(config.database_url)
    return config


def _job(settings: Settings, **values: object) -> str:
    job_id = uuid.uuid4().hex
    fields = {"owner": "o", "type": "train", "model": "groove_predictor", "synthetic": True, "params": {}}
    with session_scope(settings.database_url) as session:
        session.add(Job(id=job_id, **{**fields, **values}))
    return job_id


def _row(settings: Settings, job_id: str) -> Job:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_claim_is_exclusive_and_finish_is_fenced(settings: Settings) -> None:
    job_id = _job(settings)
    with session_scope(settings.database_url) as session:
        assert jobstate.claim(session, job_id=job_id, lease_owner="a", lease_seconds=60) == 1
    with session_scope(settings.database_url) as session:
        assert jobstate.claim(session, job_id=job_id, lease_owner="b", lease_seconds=60) is None
    with session_scope(settings.database_url) as session:
        assert not jobstate.finish(session, job_id=job_id, attempt=0, status="succeeded")  # a stale attempt
        assert jobstate.finish(session, job_id=job_id, attempt=1, status="succeeded")
    assert _row(settings, job_id).status == "succeeded"


def test_sweeper_requeues_expired_leases_fails_exhausted_jobs_and_resends_lost_messages(settings: Settings) -> None:
    past = utcnow() - timedelta(minutes=5)
    lost = _job(settings, status="running", attempt=1, lease_expires_at=past, lease_owner="dead:1", created_at=past)
    exhausted = _job(settings, status="running", attempt=3, max_attempts=3, lease_expires_at=past, lease_owner="dead:2")
    alive = _job(settings, status="running", attempt=1, lease_expires_at=utcnow() + timedelta(minutes=5))
    never_sent = _job(settings, status="queued", created_at=past)
    sent: list[str] = []
    report = sweep_once(settings, lambda job_id, queue: sent.append(job_id), resend_after=60)
    assert report.requeued == [lost] and report.failed == [exhausted]
    assert sorted(sent) == sorted([never_sent, lost])
    assert _row(settings, lost).status == "queued" and _row(settings, lost).attempt == 1
    assert "gave up after 3 attempts" in (_row(settings, exhausted).error or "")
    assert _row(settings, alive).status == "running"
    # A second sweep right away re-sends nothing: each message just went out.
    assert sweep_once(settings, lambda job_id, queue: sent.append(job_id), resend_after=60).resent == []
    # The old owner of the re-queued job can no longer write to it.
    with session_scope(settings.database_url) as session:
        assert not jobstate.finish(session, job_id=lost, attempt=1, status="succeeded")


@pytest.mark.parametrize("round_", range(10))
def test_cancel_racing_completion_ends_in_one_consistent_state(settings: Settings, round_: int) -> None:
    job_id = _job(settings, status="running", attempt=1)
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def finish() -> None:
        barrier.wait()
        with session_scope(settings.database_url) as session:
            outcomes["finished"] = jobstate.finish(session, job_id=job_id, attempt=1, status="succeeded")

    def cancel() -> None:
        barrier.wait()
        try:
            with session_scope(settings.database_url) as session:
                cancel_job(session, owner="o", job_id=job_id)
            outcomes["cancel"] = 202
        except Exception as exc:  # the domain Conflict (409) is the only acceptable error
            outcomes["cancel"] = getattr(exc, "status_code", exc)

    threads = [threading.Thread(target=finish), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = _row(settings, job_id)
    assert outcomes["finished"] is True and row.status == "succeeded"  # completion is never undone
    assert outcomes["cancel"] in (202, 409)
    assert row.cancel_requested == (outcomes["cancel"] == 202)


def test_the_dataset_folder_is_checked_again_when_the_job_runs(settings: Settings, tmp_path: Path) -> None:
    from ml.errors import MltrainError
    from worker.runner import _check_dataset_still_allowed

    root = tmp_path / "roots"
    (root / "real").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    config = settings.model_copy(update={"dataset_roots": [root]})
    _check_dataset_still_allowed(root / "real", config)
    (root / "swapped").symlink_to(outside)  # a link repointed after registration
    with pytest.raises(MltrainError, match="outside the allowed data-set roots"):
        _check_dataset_still_allowed(root / "swapped", config)
    with pytest.raises(MltrainError, match="not a folder"):
        _check_dataset_still_allowed(root / "gone", config)
