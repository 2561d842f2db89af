"""The plugin bundle of a job: refused unless the job succeeded with exports, built from its object folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import objects
from app.db import Dataset, Job
from app.errors import Conflict
from app.services.jobs import get_job
from ml.export.bundle import BundleError, BundleManifest, cached_bundle, exported_model_keys


def job_record(session: Session, job: Job) -> dict[str, Any]:
    """What the manifest says about the job and its data set (nothing that changes after the job finished)."""
    dataset: dict[str, Any] | None = {"synthetic": True} if job.synthetic else None
    if job.dataset_id is not None:
        row = session.get(Dataset, job.dataset_id)
        dataset = {"id": job.dataset_id, "name": row.name if row else None, "format": row.format if row else None}
    return {
        "id": job.id,
        "type": job.type,
        "model": job.model,
        "status": job.status,
        "params": job.params,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "dataset": dataset,
    }


def job_bundle(session: Session, *, owner: str, job_id: str, object_dir: Path) -> BundleManifest:
    """The owner's job's bundle, cached in its folder; NotFound for another owner, Conflict when there is none."""
    job = get_job(session, owner=owner, job_id=job_id)
    if job.status in ("queued", "running"):
        raise Conflict(f"job {job_id} is {job.status}: a bundle is made once it has succeeded")
    if job.status == "failed":
        raise Conflict(f"job {job_id} failed, so it has no bundle: {job.error or 'no error recorded'}")
    if job.status == "cancelled":
        raise Conflict(f"job {job_id} was cancelled, so it has no bundle")
    folder = objects.job_folder(object_dir, job_id)
    if not folder.is_dir() or not exported_model_keys(folder):
        raise Conflict(f"job {job_id} ({job.type}) has no exported models to bundle")
    try:
        return cached_bundle(folder, job=job_record(session, job))
    except BundleError as exc:
        raise Conflict(f"job {job_id}: {exc}") from None
