"""The Celery app: JSON only, late acks, prefetch 1, queues `cpu`, `gpu`, `data` (scans), no result backend.

The database is the system of record; the broker only delivers job ids. Liveness of a running job is decided
by its lease in the database (heartbeats), not by the broker: Redis' visibility_timeout is therefore set far
above any lease (12 h) so that Redis never re-delivers a long job that is still running — a job whose worker
died is found by its expired lease and re-queued by the sweeper instead.
"""

from __future__ import annotations

from functools import cache

from celery import Celery
from kombu import Queue

from app.config import get_settings

TASK_NAME = "worker.tasks.run_job"
VISIBILITY_TIMEOUT_SECONDS = 12 * 3600


def make_celery(broker_url: str) -> Celery:
    """A configured Celery app for `broker_url`."""
    app = Celery("mltrain", broker=broker_url, include=["worker.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="cpu",
        task_queues=(Queue("cpu"), Queue("gpu"), Queue("data")),
        broker_connection_retry_on_startup=True,
        # kombu hands transport options of the SQLAlchemy transport to create_engine: Redis-only setting.
        broker_transport_options=(
            {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS} if broker_url.startswith("redis") else {}
        ),
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


@cache
def celery_for(broker_url: str) -> Celery:
    """One Celery app per broker URL per process."""
    return make_celery(broker_url)


celery_app = celery_for(get_settings().broker_url)


def send_job(job_id: str, queue: str = "cpu", *, broker_url: str | None = None) -> None:
    """Hand a job id to the broker (call after the job row is committed)."""
    app = celery_for(broker_url or get_settings().broker_url)
    app.send_task(TASK_NAME, args=[job_id], queue=queue, retry=True, retry_policy={"max_retries": 3})


def broker_reachable(broker_url: str) -> None:
    """Raise if the broker cannot be reached within a few seconds."""
    with celery_for(broker_url).connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
