"""Job state changes from the worker side, each a conditional update fenced by (status, attempt)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from app.db import Artifact, Job, JobMetric, utcnow

log = logging.getLogger(__name__)


def claim(session: Session, *, job_id: str, lease_owner: str, lease_seconds: float) -> int | None:
    """queued -> running with attempt + 1; returns the new attempt, or None if someone else has it or it is done."""
    now = utcnow()
    job = session.get(Job, job_id)
    if job is None:
        log.warning("job %s does not exist; message dropped", job_id)
        return None
    current = job.attempt  # read before the UPDATE: the session synchronizes the object afterwards
    if job.status == "queued" and current >= job.max_attempts:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued", Job.attempt == current)
            .values(status="failed", finished_at=now, updated_at=now, error=f"gave up after {current} attempts")
        )
        return None
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.attempt == current)
        .values(
            status="running",
            attempt=current + 1,
            lease_owner=lease_owner,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=job.started_at or now,
            updated_at=now,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        log.info("job %s is %s (attempt %d): duplicate delivery ignored", job_id, job.status, current)
        return None
    return current + 1


def renew_lease(session: Session, *, job_id: str, attempt: int, lease_seconds: float) -> tuple[bool, bool]:
    """Extend the lease; returns (still ours, cancel requested)."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.attempt == attempt)
        .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(Job.cancel_requested)
    )
    row = result.first()
    return (row is not None, bool(row[0]) if row is not None else False)


def record_progress(session: Session, *, job_id: str, attempt: int, values: dict[str, Any]) -> bool:
    """Write progress fields if we still hold the job; False if the lease is lost."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.attempt == attempt)
        .values(**values, updated_at=utcnow())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def record_metrics(session: Session, *, job_id: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Insert per-epoch rows, replacing any earlier row of the same (model, epoch) (a resumed epoch re-runs)."""
    for model, values in rows:
        epoch = int(values["epoch"])
        session.execute(
            delete(JobMetric).where(JobMetric.job_id == job_id, JobMetric.model == model, JobMetric.epoch == epoch)
        )
        session.add(JobMetric(job_id=job_id, model=model, epoch=epoch, values=values))


def record_artifacts(session: Session, *, job_id: str, artifacts: list[dict[str, Any]]) -> None:
    """Upsert artifact rows by (job, name)."""
    for artifact in artifacts:
        session.execute(delete(Artifact).where(Artifact.job_id == job_id, Artifact.name == artifact["name"]))
        session.add(Artifact(job_id=job_id, **artifact))


def finish(
    session: Session,
    *,
    job_id: str,
    attempt: int,
    status: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """running -> succeeded | failed | cancelled, only if this attempt still holds the job."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "updated_at": now,
        "result": result,
        "error": error,
        "lease_expires_at": None,
    }
    if status == "succeeded":
        values["progress"] = 1.0
        values["eta_seconds"] = 0.0
    done = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "running", Job.attempt == attempt).values(**values)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]
