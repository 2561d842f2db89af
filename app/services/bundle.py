"""The plugin bundle of a job: refused unless the job succeeded with exports, built from its stored files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import objects
from app.db import Dataset, Job
from app.errors import Conflict
from app.services.jobs import get_job
from app.storage import ObjectStore
from app.storage_sync import pull
from ml.export.bundle import BUNDLE_NAME, BundleError, BundleManifest, cached_bundle, exported_model_keys


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


def _bundle_inputs(name: str) -> bool:
    """What a bundle is built from: the job folder's own files, without checkpoints or an old bundle."""
    return "/" not in name and not name.endswith(".pt") and name != BUNDLE_NAME


def bundle_folder(store: ObjectStore, job_id: str, cache_dir: Path) -> Path:
    """The job's folder on this machine: the store's own (local store), else a copy pulled into `cache_dir`."""
    prefix = objects.job_prefix(job_id)
    local = store.local_path(prefix)
    if local is not None:
        return local
    folder = cache_dir / "bundles" / objects.check_id(job_id)
    pull(store, prefix, folder, keep=_bundle_inputs)  # one listing when nothing changed since the last request
    return folder


def job_bundle(session: Session, *, owner: str, job_id: str, store: ObjectStore, cache_dir: Path) -> BundleManifest:
    """The owner's job's bundle, cached beside its files; NotFound for another owner, Conflict when there is none.

    With a remote store the API builds it in `cache_dir` (this host's disk) and serves that file: the zip
    is a function of the job's files, so every API host builds the same bytes and none needs to upload it."""
    job = get_job(session, owner=owner, job_id=job_id)
    if job.status in ("queued", "running"):
        raise Conflict(f"job {job_id} is {job.status}: a bundle is made once it has succeeded")
    if job.status == "failed":
        raise Conflict(f"job {job_id} failed, so it has no bundle: {job.error or 'no error recorded'}")
    if job.status == "cancelled":
        raise Conflict(f"job {job_id} was cancelled, so it has no bundle")
    folder = bundle_folder(store, job_id, cache_dir)
    if not folder.is_dir() or not exported_model_keys(folder):
        raise Conflict(f"job {job_id} ({job.type}) has no exported models to bundle")
    try:
        return cached_bundle(folder, job=job_record(session, job))
    except BundleError as exc:
        raise Conflict(f"job {job_id}: {exc}") from None
