"""A job's files between this machine's work folder and the object store, and data sets brought to local disk.

Training code reads and writes files, so a job trains in `WORK_DIR/jobs/<id>` and that folder is pushed to
`jobs/<id>/` after every checkpoint and at the end; a job resumed on a machine with a fresh disk pulls it first.
With the default local store the work folder is the store's own folder and every call here moves nothing.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from app import objects
from app.config import Settings
from app.storage import ObjectStore, is_url, open_store
from app.storage_sync import pull, push

log = logging.getLogger(__name__)


def job_dir(settings: Settings, job_id: str) -> Path:
    """Where job `job_id` trains on this machine."""
    return settings.work_root / "jobs" / objects.check_id(job_id)


def pull_job(store: ObjectStore, settings: Settings, job_id: str) -> Path:
    """Bring the job's stored files (checkpoints, metrics, exports) to this machine; the store is the truth."""
    folder = job_dir(settings, job_id)
    fetched = pull(store, objects.job_prefix(job_id), folder)
    if fetched:
        log.info("job %s: %d stored file(s) pulled into %s", job_id, fetched, folder)
    return folder


def push_job(store: ObjectStore, folder: Path, job_id: str) -> int:
    """Send what changed in the job's work folder to `jobs/<id>/`; returns how many files went."""
    return push(store, folder, objects.job_prefix(job_id))


def local_dataset(settings: Settings, path: str) -> Path:
    """The data set's folder on this machine: `path` itself, or for an `s3://` URL a cache of it below WORK_DIR
    (named by the URL, refreshed by ETag: only changed files are downloaded again)."""
    if not is_url(path):
        return Path(path)
    cache = settings.work_root / "cache" / "datasets" / hashlib.sha256(path.encode()).hexdigest()[:32]
    fetched = pull(open_store(path, settings.s3_endpoint()), "", cache)
    log.info("data set %s: %d file(s) downloaded into %s", path, fetched, cache)
    return cache
