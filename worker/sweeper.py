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

from app import jobstate, sweepstate
from app.config import Settings
from app.db import session_scope, utcnow
from app.services.jobs import jobs_to_resend

log = logging.getLogger(__name__)
Enqueue = Callable[[str, str], None]


@dataclass
class SweepReport:
    """What one sweep did."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    advanced: list[str] = field(default_factory=list)  # sweeps moved on here (their last job ended elsewhere)


def sweep_once(
    settings: Settings, enqueue: Enqueue, *, resend_after: float = 300.0, now: datetime | None = None
) -> SweepReport:
    """One pass: expired leases -> queued (or failed past max_attempts) and re-sent now; stale queued -> re-sent."""
    now = now or utcnow()
    report = SweepReport()
    with session_scope(settings.database_url) as session:
        outcome = jobstate.requeue_expired(session, now=now)
        report.requeued, report.failed = outcome.requeued, outcome.failed
        # A dead worker may also have taken messages of jobs it never claimed (they stay queued with a message
        # the broker will not hand out again): when a worker is found dead, re-send every queued job at once
        # instead of after resend_after. Duplicates are harmless: only a queued row can be claimed.
        after = 0.0 if outcome.requeued or outcome.failed else resend_after
        waiting = jobs_to_resend(session, older_than_seconds=1.0, resend_after=after, now=now, limit=None)
        stalled = sweepstate.stalled(session)
    for sweep_id in stalled:
        # A batch that failed without its worker's finish (out of attempts) left its sweep waiting: move it on.
        with session_scope(settings.database_url) as session:
            created = sweepstate.advance(session, sweep_id=sweep_id)
            waiting += [(job_id, "cpu") for job_id in created]
        report.advanced.append(sweep_id)
    for job_id, queue in waiting:
        try:
            enqueue(job_id, queue)
        except Exception:
            log.exception("job %s: could not send to the broker; will retry", job_id)
            continue
        with session_scope(settings.database_url) as session:
            jobstate.mark_sent(session, job_id=job_id)
        report.resent.append(job_id)
    if report.requeued or report.failed or report.resent or report.advanced:
        log.info("sweep: requeued %s, failed %s, resent %s, sweeps advanced %s", report.requeued, report.failed,
                 report.resent, report.advanced)  # fmt: skip
    return report


def interval_for(lease_seconds: float) -> float:
    """Seconds between sweeps: a quarter lease (at most 5 s), so a dead worker's job is re-queued soon after expiry."""
    return max(0.25, min(5.0, lease_seconds / 4))


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
