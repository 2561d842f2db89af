"""Jobs on the API side: submit (validated, idempotent), read, list, cancel, metrics."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import jobstate
from app.db import Job, JobMetric, utcnow
from app.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from app.schemas import MODEL_KEYS
from app.services.datasets import get_dataset, require_ready
from ml.config import TrainConfig  # NB: ml.config imports ml.models, hence torch, when the app starts
from ml.errors import ConfigError

log = logging.getLogger(__name__)
FINISHED = ("succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
Enqueue = Callable[[str, str], None]


def _request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def check_data_source(session: Session, *, owner: str, body: dict[str, Any]) -> str | None:
    """The body's data set id (None: synthetic); exactly one of the two, and the data set must be ready."""
    dataset_id: str | None = body.get("dataset_id")
    if bool(dataset_id) == bool(body.get("synthetic")):
        raise Unprocessable("give exactly one of dataset_id or synthetic: true")
    if dataset_id:
        require_ready(session, get_dataset(session, owner=owner, dataset_id=dataset_id, lock="read"))
    return dataset_id


def check_active_limit(session: Session, *, owner: str, max_active_jobs: int) -> None:
    """429 when the owner already has `max_active_jobs` queued or running jobs."""
    # Validations are the server's work on a registration, not the owner's jobs: they do not count.
    active = (
        session.scalar(select(func.count()).where(Job.owner == owner, Job.status.in_(ACTIVE), Job.type != "validate"))
        or 0
    )
    if active >= max_active_jobs:
        raise TooManyRequests(
            f"{active} of your jobs are queued or running (MLTRAIN_MAX_ACTIVE_JOBS_PER_OWNER={max_active_jobs}); "
            "wait for some to finish or cancel them"
        )


def create_job(
    session: Session,
    *,
    owner: str,
    body: dict[str, Any],
    idempotency_key: str | None,
    max_attempts: int,
    max_epochs: int,
    max_active_jobs: int,
) -> tuple[Job, bool]:
    """Insert a queued job (not yet enqueued); returns (job, created). Same key + same body returns the original."""
    digest = _request_hash(body)
    if idempotency_key:
        existing = session.scalar(select(Job).where(Job.owner == owner, Job.idempotency_key == idempotency_key))
        if existing is not None:
            if existing.request_hash != digest:
                raise Conflict("this Idempotency-Key was used with a different request body")
            return existing, False
    model, params = body["model"], dict(body.get("params") or {})
    if model != "all" and model not in MODEL_KEYS:
        raise Unprocessable(f"model: unknown model {model!r}; choose one of {', '.join(MODEL_KEYS)} or all")
    try:
        config = TrainConfig.from_dict(params)
    except ConfigError as exc:
        raise Unprocessable(f"params: {exc}") from None
    if config.epochs > max_epochs:
        raise Unprocessable(f"params: epochs must be at most {max_epochs} on this server (MLTRAIN_MAX_EPOCHS)")
    dataset_id = check_data_source(session, owner=owner, body=body)
    source_job_id = body.get("source_job_id")
    if body["type"] == "evaluate":
        if not source_job_id:
            raise Unprocessable("source_job_id: evaluate jobs name the train job whose models to evaluate")
        source = get_job(session, owner=owner, job_id=source_job_id)
        if source.type != "train" or source.status != "succeeded":
            raise Unprocessable(f"source_job_id: job {source_job_id} is not a succeeded train job")
    elif source_job_id:
        raise Unprocessable("source_job_id is only for evaluate jobs")
    check_active_limit(session, owner=owner, max_active_jobs=max_active_jobs)
    fields: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "owner": owner,
        "type": body["type"],
        "model": model,
        "dataset_id": dataset_id,
        "synthetic": bool(body.get("synthetic")),
        "source_job_id": source_job_id,
        "params": params,
        "queue": body.get("queue") or "cpu",
        "max_attempts": max_attempts,
        "idempotency_key": idempotency_key,
        "request_hash": digest,
    }
    try:
        job = jobstate.create(session, **fields)
    except IntegrityError:
        # Two requests with one key raced: the other insert won; return it.
        session.rollback()
        existing = session.scalar(select(Job).where(Job.owner == owner, Job.idempotency_key == idempotency_key))
        if existing is None or existing.request_hash != digest:
            raise Conflict("this Idempotency-Key was used with a different request body") from None
        return existing, False
    return job, True


def mark_enqueued(session: Session, *, job: Job) -> None:
    """Record that the broker accepted the job's message."""
    job.enqueued_at = utcnow()
    session.flush()


def commit_and_send(session: Session, job: Job, enqueue: Enqueue) -> None:
    """Commit the job's row, then hand its id to the broker and record that it was accepted."""
    commit_and_send_all(session, [job], enqueue)


def commit_and_send_all(session: Session, jobs: list[Job], enqueue: Enqueue) -> None:
    """Commit the jobs' rows, then hand each id to the broker and record which were accepted.

    The rows are committed first so a worker never receives an id it cannot read; if the broker is down a job
    stays queued with enqueued_at null, and a sweeper re-sends it.
    """
    session.commit()
    for job in jobs:
        try:
            enqueue(job.id, job.queue)
        except Exception:
            log.exception("could not enqueue job %s; it stays queued", job.id)
            continue
        mark_enqueued(session, job=job)
    session.commit()


def jobs_to_resend(
    session: Session,
    *,
    older_than_seconds: float,
    resend_after: float | None = None,
    now: datetime | None = None,
    limit: int | None = 100,
) -> list[tuple[str, str]]:
    """(id, queue) of queued jobs whose message may be missing, oldest first: what a sweeper re-sends.

    Always: jobs created over `older_than_seconds` ago that the broker never accepted. With `resend_after`: also
    jobs whose last message went out longer ago than that (a broker restart may have dropped it; a duplicate is
    harmless because only a `queued` row can be claimed).
    """
    now = now or utcnow()
    missing: ColumnElement[bool] = Job.enqueued_at.is_(None)
    if resend_after is not None:
        missing = or_(missing, Job.enqueued_at < now - timedelta(seconds=resend_after))
    query = (
        select(Job.id, Job.queue)
        .where(Job.status == "queued", missing, Job.created_at < now - timedelta(seconds=older_than_seconds))
        .order_by(Job.created_at)
    )
    rows = session.execute(query if limit is None else query.limit(limit))
    return [(job_id, queue) for job_id, queue in rows]


def get_job(session: Session, *, owner: str, job_id: str) -> Job:
    """The owner's job, else NotFound."""
    job = session.get(Job, job_id)
    if job is None or job.owner != owner:
        raise NotFound(f"no job {job_id}")
    return job


def list_jobs(
    session: Session,
    *,
    owner: str,
    status: str | None,
    type_: str | None,
    model: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Job], int]:
    """A filtered page of the owner's jobs, newest first, and the total count."""
    query = select(Job).where(Job.owner == owner)
    if status:
        query = query.where(Job.status == status)
    if type_:
        query = query.where(Job.type == type_)
    if model:
        query = query.where(Job.model == model)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset))
    return list(rows), count


def cancel_job(session: Session, *, owner: str, job_id: str) -> Job:
    """Queued -> cancelled at once; running -> cancel_requested (the trainer stops within seconds); finished -> 409."""
    job = get_job(session, owner=owner, job_id=job_id)
    if jobstate.cancel(session, job_id=job_id) is None:
        session.refresh(job)
        raise Conflict(f"job {job_id} already finished ({job.status}); nothing to cancel")
    session.refresh(job)
    return job


def job_metrics(session: Session, *, owner: str, job_id: str) -> list[JobMetric]:
    """The job's per-epoch rows ordered by model and epoch."""
    get_job(session, owner=owner, job_id=job_id)
    return list(
        session.scalars(select(JobMetric).where(JobMetric.job_id == job_id).order_by(JobMetric.model, JobMetric.epoch))
    )
