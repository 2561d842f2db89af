"""Artifacts: record the files a job produced, list them, and find the one to download."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import objects
from app.db import Artifact
from app.errors import NotFound
from app.services.jobs import get_job


def record_artifact(session: Session, *, object_dir: Path, job_id: str, name: str, source: Path | bytes) -> Artifact:
    """Copy `source` into the job's object folder as `name` and record it (kind, size, sha256, content type)."""
    stored = objects.store_file(object_dir, objects.job_folder(object_dir, job_id), name, source)
    artifact = Artifact(
        job_id=job_id,
        name=name,
        kind=objects.artifact_kind(name),
        size=stored.size,
        sha256=stored.sha256,
        path=stored.path,
        content_type=objects.content_type(name),
    )
    session.add(artifact)
    session.flush()
    return artifact


def list_artifacts(session: Session, *, owner: str, job_id: str) -> list[Artifact]:
    """The owner's job's artifacts by name (NotFound for another owner's job)."""
    get_job(session, owner=owner, job_id=job_id)
    return list(session.scalars(select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.name)))


def get_artifact(session: Session, *, owner: str, job_id: str, name: str) -> Artifact:
    """The recorded artifact `name` of the owner's job, else NotFound (never a lookup by path)."""
    get_job(session, owner=owner, job_id=job_id)
    row = session.scalar(select(Artifact).where(Artifact.job_id == job_id, Artifact.name == name))
    if row is None:
        raise NotFound(f"job {job_id} has no artifact {name!r}")
    return row


def artifact_file(*, object_dir: Path, artifact: Artifact) -> Path:
    """The artifact's file inside the object folder; NotFound if it is missing or its recorded path escapes."""
    path = objects.resolve_inside(object_dir, artifact.path)
    if not path.is_file():
        raise NotFound(f"artifact {artifact.name!r} is recorded but its file is missing from the object folder")
    return path
