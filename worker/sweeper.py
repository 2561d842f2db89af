"""The sweeper: re-queues jobs whose worker died (expired lease) and re-sends queued jobs the broker lost.

Every change is a conditional update, so any number of sweepers may run (one per `mltrain serve`, or a
`mltrain sweeper` beside the workers) without double-queuing; a duplicate message is harmless because a worker
can only claim a `queued` row. A job whose attempts are used up ends `failed` with the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from app.config import Settings
from app.db import Job, session_scope, utcnow
from app.services.jobs import jobs_to_resend

log = logging.getLogger(__name__)
Enqueue = Callable[[str, str], None]


@dataclass
class SweepReport:
    """What one sweep did."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)


def sweep_once(
    settings: Settings, enqueue: Enqueue, *, resend_after: float = 300.0, now: datetime | None = None
) -> SweepReport:
    """One pass: expired leases -> queued (or failed past max_attempts); stale queued jobs -> re-sent."""
    now = now or utcnow()
    report = SweepReport()
    with session_scope(settings.database_url) as session:
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
                    report.failed.append(job_id)
                continue
            done = session.execute(
                fenced.values(
                    status="queued", lease_owner=None, lease_expires_at=None, enqueued_at=None, updated_at=now
                )
            )
            if done.rowcount:  # type: ignore[attr-defined]
                log.warning("job %s: lease of %s expired during attempt %d; re-queued", job_id, owner, attempt)
                report.requeued.append(job_id)
        waiting = jobs_to_resend(session, older_than_seconds=1.0, resend_after=resend_after, now=now, limit=None)
    for job_id, queue in waiting:
        try:
            enqueue(job_id, queue)
        except Exception:
            log.exception("job %s: could not send to the broker; will retry", job_id)
            continue
        with session_scope(settings.database_url) as session:
            session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(enqueued_at=utcnow()))
        report.resent.append(job_id)
    if report.requeued or report.failed or report.resent:
        log.info("sweep: requeued %s, failed %s, resent %s", report.requeued, report.failed, report.resent)
    return report


def run_sweeper(
    settings: Settings, enqueue: Enqueue, stop: threading.Event, *, interval: float = 5.0, resend_after: float = 300.0
) -> None:
    """Sweep every `interval` seconds until `stop` is set; errors are logged, never fatal."""
    while not stop.wait(interval):
        try:
            sweep_once(settings, enqueue, resend_after=resend_after)
        except Exception:
            log.exception("sweep failed; retrying in %.0f s", interval)


def default_enqueue(settings: Settings) -> Enqueue:
    """send_job on the configured broker."""

    def enqueue(job_id: str, queue: str) -> None:
        from worker.celery_app import send_job

        send_job(job_id, queue, broker_url=settings.broker_url)

    return enqueue
