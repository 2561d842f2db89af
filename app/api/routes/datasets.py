"""/datasets: register, list, read, delete."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app.api.deps import CurrentOwner, SessionDep, SettingsDep
from app.errors import PayloadTooLarge
from app.schemas import DatasetCreate, DatasetPublic, DatasetsPublic
from app.services import datasets as service

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetPublic)
def register_dataset(
    body: DatasetCreate, owner: CurrentOwner, session: SessionDep, settings: SettingsDep
) -> DatasetPublic:
    """Register a server-side folder under an allowed root; 201 with its validation report."""
    dataset = service.register_dataset(
        session, owner=owner, name=body.name, path=body.path, fmt=body.format, roots=settings.resolved_roots()
    )
    return DatasetPublic.model_validate(dataset)


@router.post(
    "/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetPublic,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_dataset(
    request: Request,
    owner: CurrentOwner,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Query(min_length=1, max_length=200)],
    format: Annotated[str | None, Query(max_length=50)] = None,
) -> DatasetPublic:
    """Upload a zip/tar archive as the raw request body (streamed, size-limited), unpack safely, register it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"upload exceeds MLTRAIN_MAX_UPLOAD_BYTES ({settings.max_upload_bytes} bytes)")
    archive = settings.object_dir / "uploads" / f"{uuid.uuid4().hex}.part"
    await service.receive_upload(request.stream(), target=archive, limit=settings.max_upload_bytes)
    dataset = await run_in_threadpool(
        service.register_upload,
        session,
        owner=owner,
        name=name,
        fmt=format,
        archive=archive,
        upload_root=settings.upload_root,
        roots=settings.resolved_roots(),
    )
    return DatasetPublic.model_validate(dataset)


@router.get("", response_model=DatasetsPublic)
def list_datasets(
    owner: CurrentOwner,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> DatasetsPublic:
    """The caller's data sets, newest first."""
    rows, count = service.list_datasets(session, owner=owner, limit=limit, offset=offset)
    return DatasetsPublic(data=[DatasetPublic.model_validate(r) for r in rows], count=count)


@router.get("/{dataset_id}", response_model=DatasetPublic)
def get_dataset(dataset_id: str, owner: CurrentOwner, session: SessionDep) -> DatasetPublic:
    """One data set with its report."""
    return DatasetPublic.model_validate(service.get_dataset(session, owner=owner, dataset_id=dataset_id))


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(dataset_id: str, owner: CurrentOwner, session: SessionDep) -> Response:
    """Forget a data set (its folder is left alone); 409 while an unfinished job uses it."""
    service.delete_dataset(session, owner=owner, dataset_id=dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
