"""/jobs/{id}/artifacts: list and download the files a job produced."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from app.api.deps import CurrentOwner, ReadSessionDep, SettingsDep
from app.api.reader import ReaderDep
from app.schemas import ArtifactPublic
from app.services import artifacts as service
from app.storage import store_for

router = APIRouter(prefix="/jobs/{job_id}/artifacts", tags=["artifacts"])


@router.get("", response_model=list[ArtifactPublic])
async def list_artifacts(job_id: str, reader: ReaderDep) -> list[ArtifactPublic]:
    """Name, size, sha256, kind and content type of each file."""

    def read(session: Session, owner: str) -> list[ArtifactPublic]:
        return [ArtifactPublic.model_validate(r) for r in service.list_artifacts(session, owner=owner, job_id=job_id)]

    return await reader(read)


@router.get(
    "/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {}, "image/png": {}, "application/octet-stream": {}}}},
)
def download_artifact(
    job_id: str, name: str, owner: CurrentOwner, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    """The file, with its content type and an attachment Content-Disposition."""
    # Only recorded names are served, from their recorded server-side key: never a join on user input.
    artifact = service.get_artifact(session, owner=owner, job_id=job_id, name=name)
    download = service.artifact_download(store=store_for(settings), artifact=artifact)
    if download.path is not None:
        return FileResponse(download.path, media_type=artifact.content_type, filename=artifact.name)
    # A remote store is streamed through the API rather than redirected to a presigned URL: the bearer token
    # stays the only credential a client needs, and the bucket need not be reachable from clients.
    assert download.chunks is not None
    headers = {
        "Content-Disposition": f'attachment; filename="{artifact.name}"',  # a plain name (objects.check_name)
        "Content-Length": str(download.size),
    }
    return StreamingResponse(download.chunks, media_type=artifact.content_type, headers=headers)
