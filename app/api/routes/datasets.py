"""/datasets: register a server folder or upload an archive; list, read, delete."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.api.deps import CurrentOwner, EnqueueDep, SessionDep, SettingsDep
from app.api.reader import ReaderDep
from app.api.uploads import receive_upload
from app.db import Dataset
from app.errors import Unprocessable
from app.schemas import DatasetCreate, DatasetPublic, DatasetsPublic, dataset_public
from app.services import datasets as service
from app.services import jobs as jobs_service
from app.storage import store_for

router = APIRouter(prefix="/datasets", tags=["datasets"])
log = logging.getLogger(__name__)

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "a zip or tar(.gz) archive"},
                        "name": {"type": "string", "examples": ["mood-clips"], "description": "default: file name"},
                        "format": {"type": "string", "examples": ["audio-labels"], "description": "detected if absent"},
                    },
                }
            },
        },
    }
}


def _public(session: Session, dataset: Dataset) -> DatasetPublic:
    jobs = service.validation_jobs(session, [dataset])
    return dataset_public(dataset, service.dataset_state(dataset, jobs.get(dataset.validation_job_id or "")))


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=DatasetPublic)
def register_dataset(
    body: DatasetCreate, owner: CurrentOwner, session: SessionDep, settings: SettingsDep, enqueue: EnqueueDep
) -> DatasetPublic:
    """Register a server-side folder under an allowed root: 202 at once with status `validating`; a worker scans
    the files and GET /datasets/{id} shows its progress, then the report (status `ready` or `invalid`)."""
    dataset, job = service.register_dataset(
        session,
        owner=owner,
        name=body.name,
        path=body.path,
        fmt=body.format,
        settings=settings,
    )
    jobs_service.commit_and_send(session, job, enqueue)
    return _public(session, dataset)


@router.post("/upload", status_code=status.HTTP_202_ACCEPTED, response_model=DatasetPublic, openapi_extra=UPLOAD_BODY)
async def upload_dataset(
    request: Request,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    enqueue: EnqueueDep,
    name: Annotated[str | None, Query(min_length=1, max_length=200, examples=["mood-clips"])] = None,
    format: Annotated[str | None, Query(max_length=50, examples=["audio-labels"])] = None,
) -> DatasetPublic:
    """Upload a zip/tar archive (multipart field `file`, or the raw body): unpacked, then validated in the background
    like a registered folder (202, status `validating`); 413 past MLTRAIN_MAX_UPLOAD_BYTES."""
    upload = await receive_upload(request, upload_dir=settings.upload_dir, limit=settings.max_upload_bytes)
    name = (upload.fields.get("name") or name or upload.filename or "upload").strip()[:200] or "upload"
    fmt = upload.fields.get("format") or format
    if fmt is not None and len(fmt) > 50:
        upload.path.unlink(missing_ok=True)
        raise Unprocessable("format: at most 50 characters")
    dataset, job = await run_in_threadpool(
        service.register_upload,
        session,
        owner=owner,
        name=name,
        fmt=fmt,
        archive=upload.path,
        filename=upload.filename,
        settings=settings,
    )
    await run_in_threadpool(jobs_service.commit_and_send, session, job, enqueue)
    return _public(session, dataset)


@router.get("", response_model=DatasetsPublic)
async def list_datasets(
    reader: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> DatasetsPublic:
    """The caller's data sets, newest first."""

    def read(session: Session, owner: str) -> DatasetsPublic:
        rows, count = service.list_datasets(session, owner=owner, limit=limit, offset=offset)
        jobs = service.validation_jobs(session, rows)
        states = [service.dataset_state(row, jobs.get(row.validation_job_id or "")) for row in rows]
        data = [dataset_public(row, state) for row, state in zip(rows, states, strict=True)]
        return DatasetsPublic(data=data, count=count)

    return await reader(read)


@router.get("/{dataset_id}", response_model=DatasetPublic)
async def get_dataset(dataset_id: str, reader: ReaderDep) -> DatasetPublic:
    """One data set: its status, the scan's progress while validating, then its report."""
    return await reader(
        lambda session, owner: _public(session, service.get_dataset(session, owner=owner, dataset_id=dataset_id))
    )


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(dataset_id: str, owner: CurrentOwner, session: SessionDep, settings: SettingsDep) -> Response:
    """Forget a data set (a registered folder is left alone; its scan stops); 409 while a job trains on it."""
    service.delete_dataset(
        session, owner=owner, dataset_id=dataset_id, upload_root=settings.upload_root, store=store_for(settings)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
