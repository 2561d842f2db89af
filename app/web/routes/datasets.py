"""Data-set pages: list, one data set's validation report, register a folder, upload an archive, delete."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.api.deps import Enqueue, get_enqueuer
from app.api.uploads import receive_upload
from app.db import Dataset, Job, session_scope
from app.errors import Unprocessable
from app.services import datasets as service
from app.services import jobs as jobs_service
from app.storage import store_for
from app.web import auth, views
from app.web.auth import WebSession
from app.web.pages import CsrfRefused, HtmlRoute, checked_session, current_session, render, settings_of

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
log = logging.getLogger(__name__)
PAGE_SIZE = 50
SessionNeeded = Annotated[WebSession, Depends(current_session)]
EnqueueNeeded = Annotated[Enqueue, Depends(get_enqueuer)]


def shown(db: Any, rows: list[Any]) -> list[dict[str, Any]]:
    """The data sets as pages show them, with the status the API reports (its validation job's outcome included)."""
    # dataset_state / validation_jobs come with background validation; before it, a row's report is final.
    state_of = getattr(service, "dataset_state", None)
    jobs_of = getattr(service, "validation_jobs", None)
    jobs = jobs_of(db, rows) if jobs_of is not None else {}
    out = []
    for row in rows:
        view = views.dataset_view(row)
        if state_of is not None:
            state = state_of(row, jobs.get(getattr(row, "validation_job_id", None) or ""))
            view.update(status=state.status, error=state.error or view["error"])
        out.append(view)
    return out


def _registered(db: Session, result: tuple[Dataset, Job], enqueue: Enqueue) -> str:
    """Commit a registration and send its validate job, as POST /api/v1/datasets does; the data set's id."""
    dataset, job = result
    dataset_id: str = dataset.id
    jobs_service.commit_and_send(db, job, enqueue)
    return dataset_id


@router.get("/datasets")
def datasets_page(
    request: Request, session: SessionNeeded, offset: Annotated[int, Query(ge=0, le=10**9)] = 0
) -> HTMLResponse:
    """Your data sets with their status, and the forms to register a folder or upload an archive."""
    settings = settings_of(request)
    with session_scope(settings.database_url, read_only=True) as db:
        rows, count = service.list_datasets(db, owner=session.owner, limit=PAGE_SIZE, offset=offset)
        datasets = shown(db, rows)
    context = {
        "datasets": datasets,
        "count": count,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "roots": [str(root) for root in settings.registration_roots()],
        "live": any(d["status"] == "validating" for d in datasets),
    }
    return render(request, "datasets.html", context, session=session)


@router.get("/datasets/{dataset_id}")
def dataset_page(request: Request, dataset_id: str, session: SessionNeeded) -> HTMLResponse:
    """One data set: status and validation report (usable, skipped with reasons, label ranges, splits)."""
    with session_scope(settings_of(request).database_url, read_only=True) as db:
        dataset = shown(db, [service.get_dataset(db, owner=session.owner, dataset_id=dataset_id)])[0]
    return render(request, "dataset.html", {"dataset": dataset}, session=session)


@router.post("/datasets")
async def register(
    request: Request, session: Annotated[WebSession, Depends(checked_session)], enqueue: EnqueueNeeded
) -> Response:
    """Register a server folder under an allowed root, as POST /api/v1/datasets does."""
    settings = settings_of(request)
    form = await request.form()
    name, path = str(form.get("name") or "").strip(), str(form.get("path") or "").strip()
    fmt = str(form.get("format") or "").strip() or None
    if not name or not path:
        raise Unprocessable("give the data set a name and the folder's absolute path")
    if len(name) > 200 or len(path) > 4096 or (fmt is not None and len(fmt) > 50):
        raise Unprocessable("name (200), path (4096) or format (50 characters) is too long")

    def work() -> str:
        with session_scope(settings.database_url) as db:
            result = service.register_dataset(
                db,
                owner=session.owner,
                name=name,
                path=path,
                fmt=fmt,
                settings=settings,
            )
            return _registered(db, result, enqueue)

    dataset_id = await run_in_threadpool(work)
    return RedirectResponse(f"/datasets/{dataset_id}", status_code=303)


@router.post("/datasets/upload")
async def upload(request: Request, session: SessionNeeded, enqueue: EnqueueNeeded) -> Response:
    """Upload a zip/tar archive (streamed to disk with the size limit), as POST /api/v1/datasets/upload does."""
    settings = settings_of(request)
    received = await receive_upload(request, upload_dir=settings.upload_dir, limit=settings.max_upload_bytes)
    if not auth.csrf_ok(session, received.fields.get(auth.CSRF_FIELD)):
        received.path.unlink(missing_ok=True)
        raise CsrfRefused()
    name = (received.fields.get("name") or received.filename or "upload").strip()[:200] or "upload"
    fmt = (received.fields.get("format") or "").strip()[:50] or None

    def work() -> str:
        with session_scope(settings.database_url) as db:
            result = service.register_upload(
                db,
                owner=session.owner,
                name=name,
                fmt=fmt,
                archive=received.path,
                filename=received.filename,
                settings=settings,
            )
            return _registered(db, result, enqueue)

    dataset_id = await run_in_threadpool(work)
    return RedirectResponse(f"/datasets/{dataset_id}", status_code=303)


@router.post("/datasets/{dataset_id}/delete")
def delete(request: Request, dataset_id: str, session: Annotated[WebSession, Depends(checked_session)]) -> Response:
    """Forget a data set (409 page while a queued or running job uses it)."""
    settings = settings_of(request)
    with session_scope(settings.database_url) as db:
        service.delete_dataset(
            db,
            owner=session.owner,
            dataset_id=dataset_id,
            upload_root=settings.upload_root,
            store=store_for(settings),
        )
    return RedirectResponse("/datasets", status_code=303)
