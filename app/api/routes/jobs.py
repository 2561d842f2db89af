"""/jobs: submit, list, read, metrics, server-sent events, cancel."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import StreamingResponse

from app.api.deps import CurrentOwner, EnqueueDep, SessionDep, SettingsDep
from app.db import session_scope
from app.schemas import JobCreate, JobPublic, JobsPublic, MetricPublic, job_public
from app.services import jobs as service

router = APIRouter(prefix="/jobs", tags=["jobs"])
log = logging.getLogger(__name__)
EVENT_POLL_SECONDS = 0.5
EVENT_STREAM_MAX_SECONDS = 3600


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def submit_job(
    body: JobCreate,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    enqueue: EnqueueDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobPublic:
    """Queue a job; the row is committed before its id is sent to the broker. Honours Idempotency-Key."""
    job, created = service.create_job(
        session,
        owner=owner,
        body=body.model_dump(),
        idempotency_key=idempotency_key,
        max_attempts=settings.max_attempts,
    )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
        return job_public(job)
    try:
        enqueue(job.id, job.queue)
    except Exception:  # the broker is down: the row stays queued and the sweeper re-sends it
        log.exception("could not enqueue job %s; it stays queued", job.id)
    else:
        service.mark_enqueued(session, job_id=job.id)
    return job_public(job)


@router.get("", response_model=JobsPublic)
def list_jobs(
    owner: CurrentOwner,
    session: SessionDep,
    status_: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query(alias="status")
    ] = None,
    type_: Annotated[Literal["train", "evaluate"] | None, Query(alias="type")] = None,
    model: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JobsPublic:
    """The caller's jobs, newest first, filtered by status, type and model."""
    rows, count = service.list_jobs(
        session, owner=owner, status=status_, type_=type_, model=model, limit=limit, offset=offset
    )
    return JobsPublic(data=[job_public(r) for r in rows], count=count)


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, owner: CurrentOwner, session: SessionDep) -> JobPublic:
    """Status, progress (epoch, total, fraction, ETA), latest metrics, error, timestamps, attempt."""
    return job_public(service.get_job(session, owner=owner, job_id=job_id))


@router.get("/{job_id}/metrics", response_model=list[MetricPublic])
def get_metrics(job_id: str, owner: CurrentOwner, session: SessionDep) -> list[MetricPublic]:
    """Per-epoch history rows, ordered by model and epoch."""
    rows = service.job_metrics(session, owner=owner, job_id=job_id)
    return [MetricPublic(model=r.model, epoch=r.epoch, values=r.values) for r in rows]


@router.post("/{job_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def cancel_job(job_id: str, owner: CurrentOwner, session: SessionDep) -> JobPublic:
    """Cancel: a queued job ends at once, a running one within seconds; a finished one is a 409."""
    return job_public(service.cancel_job(session, owner=owner, job_id=job_id))


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(job_id: str, owner: CurrentOwner, session: SessionDep, settings: SettingsDep) -> StreamingResponse:
    """Server-sent events: a `job` event each time the job changes; the stream ends when the job finishes."""
    service.get_job(session, owner=owner, job_id=job_id)
    session.close()

    async def stream() -> AsyncIterator[str]:
        last = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EVENT_STREAM_MAX_SECONDS
        while loop.time() < deadline:
            with session_scope(settings.database_url) as poll:
                job = service.get_job(poll, owner=owner, job_id=job_id)
                payload = job_public(job).model_dump_json()
                finished = job.status in service.FINISHED
            if payload != last:
                last = payload
                yield f"event: job\ndata: {payload}\n\n"
            if finished:
                yield f"event: end\ndata: {json.dumps({'status': json.loads(payload)['status']})}\n\n"
                return
            await asyncio.sleep(EVENT_POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
