"""Artifacts: record the files a job produced, list them, and find the one to download."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import objects
from app.db import Artifact
from app.errors import NotFound
from app.services.jobs import get_job
from app.storage import ObjectStore
from ml.io import file_sha256


def record_artifact(session: Session, *, store: ObjectStore, job_id: str, name: str, source: Path | bytes) -> Artifact:
    """Store `source` as `jobs/<id>/<name>` and record it (kind, size, sha256, content type)."""
    key = objects.job_prefix(job_id) + objects.check_name(name)
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(source, bytes):
            path = Path(tmp) / name
            path.write_bytes(source)
            source = path
        sha256, size = file_sha256(source)
        store.put_file(key, source)
    stored = objects.StoredFile(path=key, size=size, sha256=sha256)
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


@dataclass(frozen=True)
class Download:
    """How to send an artifact: a local file (the folder store) or a stream of chunks from a remote store."""

    path: Path | None
    chunks: Iterator[bytes] | None
    size: int


def artifact_download(*, store: ObjectStore, artifact: Artifact) -> Download:
    """Open the artifact's stored object; NotFound if it is missing or its recorded key escapes the store."""
    missing = NotFound(f"artifact {artifact.name!r} is recorded but its file is missing from the object store")
    try:
        path = store.local_path(artifact.path)
        if path is not None:
            if not path.is_file():
                raise missing
            return Download(path=path, chunks=None, size=path.stat().st_size)
        info = store.stat(artifact.path)
        if info is None:
            raise missing
        return Download(path=None, chunks=store.open_read(artifact.path), size=info.size)
    except ValueError:  # a recorded key with `..` or an absolute path, or a folder symlink pointing out
        raise NotFound("the recorded file lies outside the object store") from None
    except FileNotFoundError:  # deleted between the HEAD and the GET
        raise missing from None
