"""Data sets: register a folder under an allowed root or an uploaded archive, validated; list, get, delete."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import objects
from app.db import Dataset, Job
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from ml.data import ValidationReport, locate_dataset, validate_dataset  # librosa + torch: loaded at app start
from ml.errors import DataError


def resolve_under_roots(path: str, roots: list[Path]) -> Path:
    """Resolve `path` (symlinks too) and require it to lie inside one of `roots`; else Forbidden."""
    if "\x00" in path:
        raise Unprocessable("path: contains a NUL byte")
    candidate = Path(path).expanduser()
    allowed = ", ".join(str(root) for root in roots)
    if not candidate.is_absolute():
        raise Unprocessable(f"path: must be absolute, a folder under one of the allowed roots ({allowed})")
    resolved = candidate.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise Forbidden(f"{path} is outside the allowed data-set roots ({allowed}); see MLTRAIN_DATASET_ROOTS")
    if not resolved.is_dir():
        raise Unprocessable(f"path: {path} is not a folder on the server")
    return resolved


def _validate(folder: Path, fmt: str | None, shown: str) -> tuple[Path, str, ValidationReport]:
    """(data set folder, format, report) for a folder: the layout may sit a few levels below it (an archive's
    own top folder, a mirror's extra level); Unprocessable if none is recognised or no file is usable."""
    try:
        located = locate_dataset(folder, fmt)
        report = validate_dataset(located.folder, located.format)
    except DataError as exc:
        raise Unprocessable(str(exc)) from None
    if located.subfolder:
        report.subfolder = located.subfolder
        report.warnings.insert(0, f"using the {located.format} data set found in {located.subfolder}/")
    if not report.ok:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:5]) or "no candidate files"
        more = f" (+{len(report.skipped) - 5} more)" if len(report.skipped) > 5 else ""
        raise Unprocessable(
            f"no usable file in {shown} as {located.format}: {report.files_found} found, 0 usable; "
            f"skipped: {reasons}{more}"
        )
    return located.folder, located.format, report


def _record(
    session: Session,
    *,
    dataset_id: str,
    owner: str,
    name: str,
    fmt: str,
    folder: Path,
    source: str,
    report: ValidationReport,
) -> Dataset:
    dataset = Dataset(
        id=dataset_id,
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


def register_dataset(
    session: Session, *, owner: str, name: str, path: str, fmt: str | None, roots: list[Path]
) -> Dataset:
    """Validate the folder in its (given or detected) format and record it with its report."""
    folder, fmt, report = _validate(resolve_under_roots(path, roots), fmt, path)
    return _record(
        session,
        dataset_id=objects.new_id(),
        owner=owner,
        name=name,
        fmt=fmt,
        folder=folder,
        source="folder",
        report=report,
    )


def register_upload(
    session: Session,
    *,
    owner: str,
    name: str,
    fmt: str | None,
    archive: Path,
    upload_root: Path,
    filename: str | None = None,
) -> Dataset:
    """Unpack an uploaded archive to `upload_root/<id>`, validate and record it; the archive is always removed."""
    from ml.data.prepare import prepare_archive

    dataset_id = objects.new_id()
    destination = upload_root / objects.check_id(dataset_id)
    try:
        prepare_archive(archive, destination, shown_name=filename or name)
    except DataError as exc:
        raise Unprocessable(str(exc)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            archive.unlink()
    try:
        folder, fmt, report = _validate(destination, fmt, f"the uploaded archive {filename or name!r}")
        return _record(
            session,
            dataset_id=dataset_id,
            owner=owner,
            name=name,
            fmt=fmt,
            folder=folder,
            source="upload",
            report=report,
        )
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise


def get_dataset(session: Session, *, owner: str, dataset_id: str, lock: bool | Literal["read"] = False) -> Dataset:
    """The owner's data set, else NotFound (another owner's too); `lock`: True FOR UPDATE, "read" FOR SHARE."""
    with_for_update: dict[str, bool] | bool = {"read": True} if lock == "read" else lock
    dataset = session.get(Dataset, dataset_id, with_for_update=with_for_update)
    if dataset is None or dataset.owner != owner:
        raise NotFound(f"no data set {dataset_id}")
    return dataset


def list_datasets(session: Session, *, owner: str, limit: int, offset: int) -> tuple[list[Dataset], int]:
    """A page of the owner's data sets, newest first, and the total count."""
    query = select(Dataset).where(Dataset.owner == owner)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Dataset.created_at.desc(), Dataset.id).limit(limit).offset(offset))
    return list(rows), count


def delete_dataset(session: Session, *, owner: str, dataset_id: str, upload_root: Path) -> None:
    """Forget a data set (a registered folder is left alone, an uploaded one removed); 409 while a job uses it."""
    # The row lock orders this against a job submitted for the same data set (create_job takes FOR SHARE).
    dataset = get_dataset(session, owner=owner, dataset_id=dataset_id, lock=True)
    busy = session.scalar(
        select(Job.id).where(Job.dataset_id == dataset.id, Job.status.in_(("queued", "running"))).limit(1)
    )
    if busy is not None:
        raise Conflict(f"data set {dataset_id} is used by job {busy}, which has not finished")
    session.delete(dataset)
    session.flush()
    if dataset.source == "upload":
        shutil.rmtree(upload_root / objects.check_id(dataset.id), ignore_errors=True)
