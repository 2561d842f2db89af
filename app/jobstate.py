"""The job state machine, in one place for the API, the workers and the sweeper.

    create -> queued --claim--> running --finish--> succeeded | failed | cancelled
    queued --cancel--> cancelled            running --cancel--> running + cancel_requested
    running --release--> queued (a worker that stops on shutdown; the attempt is given back)
    running --requeue_expired--> queued (lease expired: the worker died; the attempt counts) | failed (none left)

Every change is a conditional update on (id, status, attempt): `attempt` is the fencing token, so a worker that
lost its job can never overwrite the job's new owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.db import Artifact, Job, JobMetric, utcnow

log = logging.getLogger(__name__)


def create(session: Session, **fields: Any) -> Job:
    """Insert a new queued job at attempt 0 (flushed, not committed; not yet sent to the broker)."""
    job = Job(**fields, status="queued", attempt=0)
    session.add(job)
    session.flush()
    return job


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
    """Upsert per-epoch rows by (model, epoch): a resumed epoch re-runs, a checkpoint's history is re-inserted."""
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


def release(session: Session, *, job_id: str, attempt: int) -> bool:
    """running -> queued by a worker that stops on purpose: the attempt is given back (attempt - 1).

    The next claim makes it `attempt` again, so a graceful stop never uses up max_attempts; the releasing worker
    writes nothing after this (its heartbeat has stopped), so reusing the number fences nobody wrongly.
    """
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.attempt == attempt)
        .values(
            status="queued",
            attempt=attempt - 1,
            lease_owner=None,
            lease_expires_at=None,
            enqueued_at=None,
            updated_at=now,
        )
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def cancel(session: Session, *, job_id: str) -> str | None:
    """Queued -> cancelled at once, running -> cancel_requested; returns the old status, None if finished."""
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", finished_at=now, updated_at=now, error="cancelled before it started")
    )
    if done.rowcount:  # type: ignore[attr-defined]
        return "queued"
    done = session.execute(
        update(Job).where(Job.id == job_id, Job.status == "running").values(cancel_requested=True, updated_at=now)
    )
    return "running" if done.rowcount else None  # type: ignore[attr-defined]


@dataclass
class Requeued:
    """What requeue_expired changed."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def requeue_expired(session: Session, *, now: datetime) -> Requeued:
    """Running jobs with an expired lease -> queued (the attempt counts), or failed once attempts are used up."""
    outcome = Requeued()
    expired = session.execute(
        select(Job.id, Job.attempt, Job.max_attempts, Job.lease_owner).where(
            Job.status == "running", Job.lease_expires_at < now
        )
    ).all()
    for job_id, attempt, max_attempts, owner in expired:
        fenced = update(Job).where(Job.id == job_id, Job.status == "running", Job.attempt == attempt)
        if attempt >= max_attempts:
            reason = f"worker lost {attempt} times (last {owner}); gave up after {max_attempts} attempts"
            done = session.execute(fenced.values(status="failed", error=reason, finished_at=now, updated_at=now))
            if done.rowcount:  # type: ignore[attr-defined]
                outcome.failed.append(job_id)
            continue
        done = session.execute(
            fenced.values(status="queued", lease_owner=None, lease_expires_at=None, enqueued_at=None, updated_at=now)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            log.warning("job %s: lease of %s expired during attempt %d; re-queued", job_id, owner, attempt)
            outcome.requeued.append(job_id)
    return outcome


def mark_sent(session: Session, *, job_id: str) -> None:
    """Record that the broker accepted a message for a queued job."""
    session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(enqueued_at=utcnow()))


def mark_unsent(session: Session, *, job_id: str) -> None:
    """A queued job's message may be gone: the sweeper re-sends jobs with no enqueued_at on its next pass."""
    session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(enqueued_at=None))
