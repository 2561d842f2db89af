"""Celery tasks: thin — take a job id, hand it to the runner. Retries and state live in the database."""

from __future__ import annotations

import logging

from billiard.process import current_process
from celery.signals import worker_process_init, worker_shutting_down

from app.config import get_settings
from app.db import dispose_engines
from worker import shutdown
from worker.celery_app import TASK_NAME, celery_app

log = logging.getLogger(__name__)


@worker_process_init.connect
def _init_worker_process(**_: object) -> None:
    # A forked pool child must not reuse the parent's pooled connections, and gets one torch thread.
    dispose_engines()
    if current_process().name != "MainProcess":  # the solo pool sends this signal in the main process too
        shutdown.install_child_handlers()
    import torch

    torch.set_num_threads(get_settings().torch_threads)


@worker_shutting_down.connect
def _on_shutting_down(**_: object) -> None:
    # Runs in the MainProcess's signal handler: only set flags and send signals here.
    shutdown.request()
    shutdown.forward_to_children()


@celery_app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: str) -> str | None:
    """Run job `job_id` (a duplicate delivery of a running or finished job does nothing)."""
    from worker.runner import execute_job

    return execute_job(job_id, get_settings())
