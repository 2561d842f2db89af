"""/jobs/{id}/artifacts: list and download the files a job produced."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from sqlalchemy import select

from app.api.deps import CurrentOwner, SessionDep, SettingsDep
from app.db import Artifact
from app.errors import NotFound
from app.schemas import ArtifactPublic
from app.services.jobs import get_job

router = APIRouter(prefix="/jobs/{job_id}/artifacts", tags=["artifacts"])


@router.get("", response_model=list[ArtifactPublic])
def list_artifacts(job_id: str, owner: CurrentOwner, session: SessionDep) -> list[ArtifactPublic]:
    """Name, size, sha256, kind and content type of each file."""
    get_job(session, owner=owner, job_id=job_id)
    rows = session.scalars(select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.name))
    return [ArtifactPublic.model_validate(r) for r in rows]


@router.get("/{name}", response_class=FileResponse)
def download_artifact(
    job_id: str, name: str, owner: CurrentOwner, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The file, with its content type and an attachment Content-Disposition."""
    get_job(session, owner=owner, job_id=job_id)
    # Only recorded names are served, from their recorded server-side path: never a join on user input.
    row = session.scalar(select(Artifact).where(Artifact.job_id == job_id, Artifact.name == name))
    if row is None:
        raise NotFound(f"job {job_id} has no artifact {name!r}")
    path = (settings.object_dir / row.path).resolve()
    if not path.is_file():
        raise NotFound(f"artifact {name!r} is recorded but its file is missing from the object folder")
    return FileResponse(path, media_type=row.content_type, filename=row.name)
