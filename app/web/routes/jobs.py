"""Job pages: the list (filters, live progress), one job (history, curves, metrics, evaluation, artifacts), actions."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import Enqueue, get_enqueuer
from app.config import Settings
from app.db import session_scope
from app.errors import Unprocessable
from app.schemas import MODEL_KEYS, JobType
from app.services import artifacts as artifact_service
from app.services import datasets as dataset_service
from app.services import jobs as service
from app.web import views
from app.web.auth import WebSession
from app.web.pages import HtmlRoute, checked_session, current_session, render, settings_of

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
log = logging.getLogger(__name__)
PAGE_SIZE = 25
SessionNeeded = Annotated[WebSession, Depends(current_session)]
CheckedSession = Annotated[WebSession, Depends(checked_session)]
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def dataset_names(db: Any, owner: str) -> dict[str, str]:
    """id -> name of the owner's data sets (the newest 500), for tables that show which data a job used."""
    rows, _ = dataset_service.list_datasets(db, owner=owner, limit=500, offset=0)
    return {row.id: row.name for row in rows}


def _jobs_context(
    settings: Settings, owner: str, status: str | None, type_: str | None, model: str | None, offset: int
) -> dict[str, Any]:
    with session_scope(settings.database_url, read_only=True) as db:
        rows, count = service.list_jobs(
            db, owner=owner, status=status, type_=type_, model=model, limit=PAGE_SIZE, offset=offset
        )
        names = dataset_names(db, owner)
        jobs = [views.job_row(job, names) for job in rows]
    filters = {"status": status or "", "type": type_ or "", "model": model or ""}
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return {
        "jobs": jobs,
        "count": count,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "filters": filters,
        "query": query,
        "live": any(job["status"] in views.ACTIVE for job in jobs),
        "statuses": STATUSES,
        "types": get_args(JobType),
        "models": (*MODEL_KEYS, "all"),
    }


Model = Annotated[str | None, Query(max_length=50)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


def _blank(value: str | None) -> str | None:
    return value or None


def _filters(
    request: Request,
    session: SessionNeeded,
    status: Annotated[str | None, Query(max_length=20)] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=20)] = None,
    model: Model = None,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The jobs list's context for the filters of the query, as GET /api/v1/jobs takes them."""
    return _jobs_context(settings_of(request), session.owner, _status(status), _type(type_), _blank(model), offset)


JobsContext = Annotated[dict[str, Any], Depends(_filters)]


@router.get("/")
def jobs_page(request: Request, session: SessionNeeded, context: JobsContext) -> HTMLResponse:
    """Your jobs, newest first, filtered like GET /api/v1/jobs; the table refreshes itself while jobs run."""
    return render(request, "jobs.html", context, session=session)


@router.get("/jobs/table")
def jobs_table(request: Request, session: SessionNeeded, context: JobsContext) -> HTMLResponse:
    """The jobs table alone (htmx polls it while a job is queued or running)."""
    return render(request, "_jobs_table.html", context, session=session)


def _status(value: str | None) -> str | None:
    """A status filter ('' = any); an unknown one is a 422 page, as the API's Literal would give."""
    if not value:
        return None
    if value not in STATUSES:
        raise Unprocessable(f"status: must be one of {', '.join(STATUSES)}")
    return value


def _type(value: str | None) -> str | None:
    if not value:
        return None
    if value not in get_args(JobType):
        raise Unprocessable(f"type: must be one of {', '.join(get_args(JobType))}")
    return value


def job_context(settings: Settings, owner: str, job_id: str) -> dict[str, Any]:
    """Everything the job page shows, read through the services (NotFound for another owner's job)."""
    with session_scope(settings.database_url, read_only=True) as db:
        job = service.get_job(db, owner=owner, job_id=job_id)
        metrics = views.metrics_by_model(service.job_metrics(db, owner=owner, job_id=job_id))
        artifacts = artifact_service.list_artifacts(db, owner=owner, job_id=job_id)
        names = dataset_names(db, owner)
        row = views.job_row(job, names)
        summaries = views.model_summaries(job)
        best = views.best_epochs(job)
        history = views.status_history(job)
        chart = {
            "id": job.id,
            "status": job.status,
            "finished": job.status in service.FINISHED,
            "metrics": metrics,
            "best": best,
            "losses": {key: views.model_loss(key) for key in (*MODEL_KEYS,)},
        }
        context = {
            "job": job,
            "row": row,
            "history": history,
            "metrics": metrics,
            "columns": {key: views.metric_columns(rows) for key, rows in metrics.items()},
            "best": {key: best.get(key, views.best_epoch(rows)) for key, rows in metrics.items()},
            "summaries": summaries,
            "artifacts": [{"name": a.name, "kind": a.kind, "size": a.size, "sha256": a.sha256} for a in artifacts],
            "plot": next((a.name for a in artifacts if a.kind == "plot"), None),
            "chart_json": json.dumps(chart, default=str).replace("</", "<\\/"),
            "active": job.status in views.ACTIVE,
            "params_json": json.dumps(job.params, indent=1, sort_keys=True),
        }
    return context


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, session: SessionNeeded) -> HTMLResponse:
    """One job: status history, live curves, metrics, evaluation beside baselines, parity, artifacts, actions."""
    context = job_context(settings_of(request), session.owner, job_id)
    return render(request, "job.html", context, session=session)


@router.get("/jobs/{job_id}/live")
def job_live(request: Request, job_id: str, session: SessionNeeded) -> HTMLResponse:
    """The job page's metrics tables alone (refreshed when the events stream reports progress)."""
    context = job_context(settings_of(request), session.owner, job_id)
    return render(request, "_job_metrics.html", context, session=session)


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, job_id: str, session: CheckedSession) -> Response:
    """Cancel the job (queued: at once; running: at its next batch), then show it."""
    with session_scope(settings_of(request).database_url) as db:
        service.cancel_job(db, owner=session.owner, job_id=job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def submit(settings: Settings, enqueue: Enqueue, owner: str, body: dict[str, Any]) -> str:
    """Create the job as POST /api/v1/jobs does: commit the row, then hand its id to the broker; its id."""
    with session_scope(settings.database_url) as db:
        job, _ = service.create_job(
            db,
            owner=owner,
            body=body,
            idempotency_key=None,
            max_attempts=settings.max_attempts,
            max_epochs=settings.max_epochs,
            max_active_jobs=settings.max_active_jobs_per_owner,
        )
        service.commit_and_send(db, job, enqueue)
        return job.id


@router.post("/jobs/{job_id}/rerun")
def rerun(
    request: Request, job_id: str, session: CheckedSession, enqueue: Annotated[Enqueue, Depends(get_enqueuer)]
) -> Response:
    """Submit a new job with the same model, data and parameters."""
    settings = settings_of(request)
    with session_scope(settings.database_url, read_only=True) as db:
        old = service.get_job(db, owner=session.owner, job_id=job_id)
        body = {
            "type": old.type,
            "model": old.model,
            "dataset_id": old.dataset_id,
            "synthetic": old.synthetic,
            "source_job_id": old.source_job_id,
            "params": dict(old.params),
            "queue": old.queue,
        }
    new_id = submit(settings, enqueue, session.owner, body)
    return RedirectResponse(f"/jobs/{new_id}", status_code=303)
