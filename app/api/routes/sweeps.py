"""/sweeps: submit a hyperparameter sweep, list, read (trials, batches, best), cancel, retrain the best trial."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app import sweepstate
from app.api.deps import CurrentOwner, EnqueueDep, ReadSessionDep, SessionDep, SettingsDep
from app.schemas import JobPublic, SweepCreate, SweepPublic, SweepsPublic, SweepStatus, job_public, sweep_public
from app.services import jobs as jobs_service
from app.services import sweeps as service

router = APIRouter(prefix="/sweeps", tags=["sweeps"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=SweepPublic)
def submit_sweep(
    body: SweepCreate, owner: CurrentOwner, session: SessionDep, settings: SettingsDep, enqueue: EnqueueDep
) -> SweepPublic:
    """Queue a sweep: the space is checked now (422 names what to fix); its batch jobs go to the cpu queue."""
    sweep, jobs = service.create_sweep(
        session,
        owner=owner,
        body=body.model_dump(),
        max_attempts=settings.max_attempts,
        max_epochs=settings.max_epochs,
        max_active_jobs=settings.max_active_jobs_per_owner,
    )
    jobs_service.commit_and_send_all(session, jobs, enqueue)
    return sweep_public(sweep, service.sweep_detail(session, owner=owner, sweep_id=sweep.id))


@router.get("", response_model=SweepsPublic)
def list_sweeps(
    owner: CurrentOwner,
    session: ReadSessionDep,
    status_: Annotated[SweepStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> SweepsPublic:
    """The caller's sweeps, newest first (trials and batches are on GET /sweeps/{id})."""
    rows, count = service.list_sweeps(session, owner=owner, status=status_, limit=limit, offset=offset)
    data = [sweep_public(row, best=sweepstate.best_trial(session, row.id)) for row in rows]
    return SweepsPublic(data=data, count=count)


@router.get("/{sweep_id}", response_model=SweepPublic)
def get_sweep(sweep_id: str, owner: CurrentOwner, session: ReadSessionDep) -> SweepPublic:
    """Status, every trial (params, status, objective, epochs), the best so far, the batch jobs, the best job."""
    detail = service.sweep_detail(session, owner=owner, sweep_id=sweep_id)
    return sweep_public(detail.sweep, detail)


@router.post("/{sweep_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=SweepPublic)
def cancel_sweep(sweep_id: str, owner: CurrentOwner, session: SessionDep) -> SweepPublic:
    """Cancel: queued batches at once, running ones at their next batch of rows; a finished sweep is a 409."""
    service.cancel_sweep(session, owner=owner, sweep_id=sweep_id)
    detail = service.sweep_detail(session, owner=owner, sweep_id=sweep_id)
    return sweep_public(detail.sweep, detail)


@router.post("/{sweep_id}/retrain", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def retrain_best(
    sweep_id: str, owner: CurrentOwner, session: SessionDep, settings: SettingsDep, enqueue: EnqueueDep
) -> JobPublic:
    """Train the best trial again on train + validation (its best epoch's count, no early stopping): a train job."""
    job = service.retrain(
        session,
        owner=owner,
        sweep_id=sweep_id,
        max_attempts=settings.max_attempts,
        max_epochs=settings.max_epochs,
        max_active_jobs=settings.max_active_jobs_per_owner,
    )
    jobs_service.commit_and_send(session, job, enqueue)
    return job_public(job)
