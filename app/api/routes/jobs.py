"""/jobs: submit, list, read, metrics, server-sent events, cancel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.api.deps import CurrentOwner, EnqueueDep, SessionDep, SettingsDep
from app.api.reader import Read, ReaderDep
from app.errors import NotFound, Unauthorized
from app.schemas import JobCreate, JobPublic, JobsPublic, JobStatus, JobType, MetricPublic, job_public
from app.services import jobs as service

router = APIRouter(prefix="/jobs", tags=["jobs"])
log = logging.getLogger(__name__)
KEEPALIVE_SECONDS = 15.0


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    responses={200: {"model": JobPublic, "description": "the job an earlier request with this Idempotency-Key made"}},
)
def submit_job(
    body: JobCreate,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    enqueue: EnqueueDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> JobPublic:
    """Queue a job: the row is committed before its id goes to the broker. Honours Idempotency-Key."""
    job, created = service.create_job(
        session,
        owner=owner,
        body=body.model_dump(),
        idempotency_key=idempotency_key,
        max_attempts=settings.max_attempts,
        max_epochs=settings.max_epochs,
        max_active_jobs=settings.max_active_jobs_per_owner,
    )
    if not created:
        session.commit()
        response.status_code = status.HTTP_200_OK
        return job_public(job)
    service.commit_and_send(session, job, enqueue)
    return job_public(job)


@router.get("", response_model=JobsPublic)
async def list_jobs(
    reader: ReaderDep,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    type_: Annotated[JobType | None, Query(alias="type")] = None,
    model: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JobsPublic:
    """The caller's jobs, newest first, filtered by status, type and model."""

    def read(session: Session, owner: str) -> JobsPublic:
        rows, count = service.list_jobs(
            session, owner=owner, status=status_, type_=type_, model=model, limit=limit, offset=offset
        )
        return JobsPublic(data=[job_public(r) for r in rows], count=count)

    return await reader(read)


def _job(job_id: str) -> Read[JobPublic]:
    """The read of one job's public view (GET /jobs/{id} and each events poll)."""
    return lambda session, owner: job_public(service.get_job(session, owner=owner, job_id=job_id))


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: str, reader: ReaderDep) -> JobPublic:
    """Status, progress (epoch, total, fraction, ETA), latest metrics, error, timestamps, attempt."""
    return await reader(_job(job_id))


@router.get("/{job_id}/metrics", response_model=list[MetricPublic])
async def get_metrics(job_id: str, reader: ReaderDep) -> list[MetricPublic]:
    """Per-epoch history rows, ordered by model and epoch."""

    def read(session: Session, owner: str) -> list[MetricPublic]:
        rows = service.job_metrics(session, owner=owner, job_id=job_id)
        return [MetricPublic(model=r.model, epoch=r.epoch, values=r.values) for r in rows]

    return await reader(read)


@router.post("/{job_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def cancel_job(job_id: str, owner: CurrentOwner, session: SessionDep) -> JobPublic:
    """Cancel: a queued job ends at once, a running one at its next batch; a finished one is a 409."""
    return job_public(service.cancel_job(session, owner=owner, job_id=job_id))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"example": 'event: status\ndata: {"id": "...", ...}\n\n'}}}},
)
async def job_events(job_id: str, reader: ReaderDep, settings: SettingsDep) -> StreamingResponse:
    """Server-sent events: `status` when the status changes, `progress` when anything else does; ends when finished."""
    # Each poll is one short read (no session lasts as long as the stream) and re-checks the credentials, so a
    # revoked token or signed-out cookie ends the stream at its next poll.
    first = await reader(_job(job_id))  # 401/404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.events_max_seconds
        previous: JobPublic | None = None
        current: JobPublic | None = first
        quiet_since = loop.time()
        while True:
            if current is not None and current != previous:
                kind = "status" if previous is None or previous.status != current.status else "progress"
                yield f"event: {kind}\ndata: {current.model_dump_json()}\n\n"
                previous, quiet_since = current, loop.time()
                if current.status in service.FINISHED:
                    return
            elif loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                quiet_since = loop.time()
            if loop.time() >= deadline:
                yield "event: timeout\ndata: {}\n\n"
                return
            await asyncio.sleep(settings.events_poll_seconds)
            try:
                current = await reader(_job(job_id))
            except (NotFound, Unauthorized):  # deleted while watched, or the token was revoked
                return

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
