"""Data sets: register a folder under an allowed root, validated at registration; list, get, delete."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Dataset, Job
from app.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from ml.errors import DataError


def resolve_under_roots(path: str, roots: list[Path]) -> Path:
    """Resolve `path` (symlinks too) and require it to lie inside one of `roots`; else Forbidden."""
    if "\x00" in path:
        raise Unprocessable("path contains a NUL byte")
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        raise Unprocessable("path must be absolute (a folder on the server under an allowed root)")
    resolved = candidate.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise Forbidden(f"{path} is outside the allowed data-set roots ({allowed}); set MLTRAIN_DATASET_ROOTS")
    if not resolved.is_dir():
        raise Unprocessable(f"{path} is not a folder on the server")
    return resolved


def register_dataset(
    session: Session,
    *,
    owner: str,
    name: str,
    path: str,
    fmt: str | None,
    roots: list[Path],
    source: str = "folder",
    dataset_id: str | None = None,
) -> Dataset:
    """Validate the folder in its (given or detected) format and record it with its report."""
    from ml.data import detect_format, validate_dataset  # heavy imports only when registering

    folder = resolve_under_roots(path, roots)
    try:
        fmt = fmt or detect_format(folder)
        report = validate_dataset(folder, fmt)
    except DataError as exc:
        raise Unprocessable(str(exc)) from None
    if not report.ok:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:5])
        raise Unprocessable(f"no usable file in {path} as {fmt} ({report.files_found} found; {reasons})")
    dataset = Dataset(
        id=dataset_id or uuid.uuid4().hex,
        owner=owner,
        name=name,
        format=fmt,
        path=str(folder),
        source=source,
        report=report.to_dict(),
        usable=report.usable,
    )
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, *, owner: str, dataset_id: str) -> Dataset:
    """The owner's data set, else NotFound (another owner's is not found either)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.owner != owner:
        raise NotFound(f"no data set {dataset_id}")
    return dataset


def list_datasets(session: Session, *, owner: str, limit: int, offset: int) -> tuple[list[Dataset], int]:
    """A page of the owner's data sets, newest first, and the total count."""
    query = select(Dataset).where(Dataset.owner == owner)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Dataset.created_at.desc()).limit(limit).offset(offset))
    return list(rows), count


def delete_dataset(session: Session, *, owner: str, dataset_id: str) -> None:
    """Forget a data set (the folder is left alone); refused while a queued or running job uses it."""
    dataset = get_dataset(session, owner=owner, dataset_id=dataset_id)
    busy = session.scalar(
        select(Job.id).where(Job.dataset_id == dataset.id, Job.status.in_(("queued", "running"))).limit(1)
    )
    if busy is not None:
        raise Conflict(f"data set {dataset_id} is used by job {busy}, which has not finished")
    session.delete(dataset)


async def receive_upload(chunks: AsyncIterator[bytes], *, target: Path, limit: int) -> int:
    """Stream a request body to `target`, counting bytes; past `limit` the file is removed and 413 raised."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with target.open("wb") as handle:
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise PayloadTooLarge(f"upload exceeds MLTRAIN_MAX_UPLOAD_BYTES ({limit} bytes)")
                handle.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if written == 0:
        target.unlink(missing_ok=True)
        raise Unprocessable("empty upload: send the archive as the request body (zip or tar)")
    return written


def register_upload(
    session: Session, *, owner: str, name: str, fmt: str | None, archive: Path, upload_root: Path, roots: list[Path]
) -> Dataset:
    """Unpack an uploaded archive under the object folder and register it; a refused archive leaves nothing."""
    from ml.data.prepare import prepare_archive

    dataset_id = uuid.uuid4().hex
    destination = upload_root / dataset_id
    try:
        prepare_archive(archive, destination)
    except DataError as exc:
        raise Unprocessable(str(exc)) from None
    finally:
        archive.unlink(missing_ok=True)
    # An archive usually holds one top folder: register that, so format detection sees the layout.
    entries = [p for p in destination.iterdir() if not p.name.startswith(".")]
    folder = entries[0] if len(entries) == 1 and entries[0].is_dir() else destination
    try:
        return register_dataset(
            session,
            owner=owner,
            name=name,
            path=str(folder),
            fmt=fmt,
            roots=roots,
            source="upload",
            dataset_id=dataset_id,
        )
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
