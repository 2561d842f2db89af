"""Data sets: register a folder under an allowed root or an uploaded archive; list, get, delete.

Registration only locates the layout (a few directory listings) and records the data set as `validating` beside
a validate job; a worker scans the files (worker/validation.py) and stores the report, so a folder of 100,000
files registers at once and no request waits for MIDI parsing.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import objects
from app.config import Settings
from app.db import Dataset, Job, utcnow
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.storage import ObjectStore, is_url, store_for
from app.storage_sync import push
from ml.data import Located, locate_dataset
from ml.data.registry import get_format
from ml.errors import DataError

VALIDATION_QUEUE = "data"  # its own workers (and the embedded one), so a long training never holds a scan


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


def check_url_root(url: str, roots: list[str]) -> str:
    """`url` as a folder-like prefix ("/"-terminated) if it lies under one of the `s3://` `roots`; else Forbidden."""
    prefix = url.rstrip("/") + "/"
    if ".." in prefix.split("/") or "//" in prefix.removeprefix("s3://"):
        raise Unprocessable(f"path: {url} is not a plain s3://bucket/prefix")
    if not any(prefix.startswith(root) for root in roots):
        allowed = ", ".join(roots) or "none configured"
        raise Forbidden(f"{url} is outside the allowed data-set prefixes ({allowed}); see MLTRAIN_DATASET_URL_ROOTS")
    return prefix


def _url_layout(fmt: str | None) -> Located:
    """An `s3://` prefix as its own layout: the format must be given (detecting it would mean downloading files
    into the API); the worker syncs the prefix and its scan reports a wrong layout as `invalid`."""
    if fmt is None:
        raise Unprocessable("format: required for an s3:// data set (the layout is not detected from a bucket)")
    try:
        get_format(fmt)
    except DataError as exc:
        raise Unprocessable(f"format: {exc}") from None
    return Located(Path(), fmt, "")  # folder unused: the row's path is the prefix itself


def _locate(folder: Path, fmt: str | None) -> Located:
    """Where the layout sits at or a few levels below `folder` (cheap: no file is parsed); else Unprocessable."""
    try:
        return locate_dataset(folder, fmt)
    except DataError as exc:
        raise Unprocessable(str(exc)) from None


def _record(
    session: Session,
    *,
    dataset_id: str,
    owner: str,
    name: str,
    located: Located,
    source: str,
    max_attempts: int,
    path: str | None = None,
) -> tuple[Dataset, Job]:
    """Insert the data set as `validating` with the validate job that will scan it (enqueue after commit);
    `path` (an `s3://` URL of an upload) replaces the located folder as what workers read."""
    job = Job(
        id=uuid.uuid4().hex,
        owner=owner,
        type="validate",
        model=located.format,
        dataset_id=dataset_id,
        params={"subfolder": located.subfolder},  # where below the registered folder the layout was found
        queue=VALIDATION_QUEUE,
        status="queued",
        max_attempts=max_attempts,
    )
    dataset = Dataset(
        id=dataset_id,
        owner=owner,
        name=name,
        format=located.format,
        path=path or str(located.folder),
        source=source,
        report=None,
        usable=0,
        status="validating",
        validation_job_id=job.id,
    )
    session.add(dataset)
    session.flush()  # the job's foreign key needs the data set row first
    session.add(job)
    session.flush()
    return dataset, job


def register_dataset(
    session: Session,
    *,
    owner: str,
    name: str,
    path: str,
    fmt: str | None,
    settings: Settings,
) -> tuple[Dataset, Job]:
    """Record the folder (its layout located, given or detected, under the registration roots) or `s3://` prefix
    (format given, under MLTRAIN_DATASET_URL_ROOTS) as validating, with its validate job."""
    url = check_url_root(path, settings.dataset_url_roots or []) if is_url(path) else None
    located = _url_layout(fmt) if url else _locate(resolve_under_roots(path, settings.registration_roots()), fmt)
    return _record(
        session,
        dataset_id=objects.new_id(),
        owner=owner,
        name=name,
        located=located,
        source="folder",
        max_attempts=settings.max_attempts,
        path=url,
    )


def register_upload(
    session: Session,
    *,
    owner: str,
    name: str,
    fmt: str | None,
    archive: Path,
    filename: str | None,
    settings: Settings,
) -> tuple[Dataset, Job]:
    """Unpack an uploaded archive to `MLTRAIN_UPLOAD_ROOT/<id>` (within the archive limits) and record it as
    validating; the archive is always removed.

    With a remote store the unpacked folder is then uploaded to `datasets/<id>/`, the local copy removed, and the
    row's path is the folder's `s3://` URL: workers on any machine sync it into their own cache."""
    from ml.data.prepare import prepare_archive

    store, max_attempts = store_for(settings), settings.max_attempts
    dataset_id = objects.new_id()
    destination = settings.upload_root / objects.check_id(dataset_id)
    try:
        prepare_archive(
            archive,
            destination,
            shown_name=filename or name,
            max_files=settings.max_archive_members,
            max_total_bytes=settings.max_archive_bytes,
        )
    except DataError as exc:
        raise Unprocessable(str(exc)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            archive.unlink()
    try:
        try:
            located = locate_dataset(destination, fmt)
        except DataError as exc:
            shown = f"the uploaded archive {filename or name!r}"
            raise Unprocessable(str(exc).replace(str(destination), shown)) from None
        prefix = objects.dataset_prefix(dataset_id)
        stored_path = None
        if store.local_path(prefix) != destination.resolve():
            push(store, destination, prefix)
            stored_path = store.key_url(prefix + located.subfolder)
            shutil.rmtree(destination, ignore_errors=True)
        return _record(
            session,
            dataset_id=dataset_id,
            owner=owner,
            name=name,
            located=located,
            source="upload",
            max_attempts=max_attempts,
            path=stored_path,
        )
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        if store.local_path(objects.dataset_prefix(dataset_id)) is None:
            store.delete(objects.dataset_prefix(dataset_id))
        raise


@dataclass(frozen=True)
class DatasetState:
    """A data set's status as clients see it: the row's, unless its validate job ended without reporting."""

    status: str
    error: str | None
    job: Job | None


def dataset_state(dataset: Dataset, job: Job | None) -> DatasetState:
    """The one definition of a data set's status: a validate job that failed or was cancelled (a dead worker, a
    sweeper that gave up, a delete) leaves the row `validating`; it reads as `invalid` with the job's error."""
    if dataset.status == "validating" and job is not None and job.status in ("failed", "cancelled"):
        return DatasetState("invalid", f"validation {job.status}: {job.error or 'no reason recorded'}", job)
    if dataset.status == "validating" and job is None:
        return DatasetState("invalid", "validation job is gone; register the folder again", None)
    return DatasetState(dataset.status, dataset.error, job)


def validation_jobs(session: Session, datasets: list[Dataset]) -> dict[str, Job]:
    """The validate jobs of these data sets, by job id, in one query."""
    ids = [d.validation_job_id for d in datasets if d.validation_job_id]
    if not ids:
        return {}
    return {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(ids)))}


def require_ready(session: Session, dataset: Dataset) -> None:
    """Refuse a job on a data set that is still validating (409) or turned out invalid (422)."""
    job = session.get(Job, dataset.validation_job_id) if dataset.validation_job_id else None
    state = dataset_state(dataset, job)
    if state.status == "validating":
        seen = (job.latest_metrics or {}) if job is not None else {}
        where = (
            f" ({seen.get('files_seen', 0)} of {seen['files_total']} files checked)" if seen.get("files_total") else ""
        )
        raise Conflict(
            f"data set {dataset.id} is still validating{where}; submit the job when "
            f"GET /api/v1/datasets/{dataset.id} shows status ready"
        )
    if state.status == "invalid":
        raise Unprocessable(f"dataset_id: data set {dataset.id} is invalid: {state.error}")


def record_validation(
    session: Session, *, dataset_id: str, job_id: str, report: dict[str, Any] | None, error: str | None
) -> bool:
    """Store a finished scan on its data set (ready with usable files, else invalid); False if the data set is
    gone or a newer validation owns it."""
    dataset = session.get(Dataset, dataset_id, with_for_update=True)
    if dataset is None or dataset.validation_job_id != job_id:
        return False
    usable = int(report.get("usable", 0)) if report else 0
    if error is None and report is not None and usable == 0:
        skipped = report.get("skipped", [])
        reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped[:5]) or "no candidate files"
        more = len(skipped) - 5
        error = (
            f"no usable file as {dataset.format}: {report.get('files_found', 0)} found, 0 usable; skipped: {reasons}"
            + (f" (+{more} more)" if more > 0 else "")
        )
    dataset.report = report
    dataset.usable = usable
    dataset.status = "ready" if error is None else "invalid"
    dataset.error = error
    session.flush()
    return True


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


def delete_dataset(session: Session, *, owner: str, dataset_id: str, upload_root: Path, store: ObjectStore) -> None:
    """Forget a data set (a registered folder is left alone, an uploaded one removed); 409 while a job uses it."""
    # The row lock orders this against a job submitted for the same data set (create_job takes FOR SHARE).
    dataset = get_dataset(session, owner=owner, dataset_id=dataset_id, lock=True)
    active = Job.dataset_id == dataset.id, Job.status.in_(("queued", "running"))
    busy = session.scalar(select(Job.id).where(*active, Job.type != "validate").limit(1))
    if busy is not None:
        raise Conflict(f"data set {dataset_id} is used by job {busy}, which has not finished")
    # Its own scan stops: queued -> cancelled now, running -> asked to stop (it finds the data set gone).
    now = utcnow()
    session.execute(
        update(Job)
        .where(*active, Job.type == "validate", Job.status == "queued")
        .values(status="cancelled", finished_at=now, updated_at=now, error="data set deleted")
    )
    session.execute(update(Job).where(*active, Job.type == "validate").values(cancel_requested=True, updated_at=now))
    session.delete(dataset)
    session.flush()
    if dataset.source == "upload":
        shutil.rmtree(upload_root / objects.check_id(dataset.id), ignore_errors=True)
        store.delete(objects.dataset_prefix(dataset.id))  # the same folder with the local store
