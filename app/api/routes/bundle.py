"""/jobs/{id}/bundle: the plugin bundle zip of a finished job."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.api.deps import CurrentOwner, ReadSessionDep, SettingsDep
from app.services import bundle as service
from app.storage import store_for

router = APIRouter(prefix="/jobs/{job_id}/bundle", tags=["artifacts"])


@router.get(
    "",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "plugin-models.zip (docs/plugin.md)"},
        409: {"description": "the job is not finished, failed, was cancelled or has no exports"},
    },
)
def download_bundle(job_id: str, owner: CurrentOwner, session: ReadSessionDep, settings: SettingsDep) -> FileResponse:
    """Every model JSON, golden vectors and ModelT header, the C++ front end, the plugin guide and manifest.json."""
    bundle = service.job_bundle(
        session, owner=owner, job_id=job_id, store=store_for(settings), cache_dir=settings.object_dir / "cache"
    )
    return FileResponse(bundle.path, media_type="application/zip", filename=f"plugin-models-{job_id[:8]}.zip")
