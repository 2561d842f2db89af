"""A sweep's trial folders between this machine's work folder and the object store, like a job's folder.

A batch trains its trials in `WORK_DIR/sweeps/<id>/trials/NNNN` and pushes each one to `sweeps/<id>/trials/NNNN/`
after every checkpoint and at the end; a re-delivered batch (any machine) pulls its trials before resuming them,
and the best trial's train job pulls the one it copies. With the default local store the work folder is the
store's own folder and nothing moves.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app import objects, sweepstate
from app.config import Settings
from app.storage import ObjectStore
from app.storage_sync import pull, push

log = logging.getLogger(__name__)


def trial_prefix(sweep_id: str, number: int) -> str:
    """The store key prefix of a trial's checkpoints: `sweeps/<id>/trials/NNNN/`."""
    return f"sweeps/{objects.check_id(sweep_id)}/trials/{number:04d}/"


def sweep_work_dir(settings: Settings, sweep_id: str) -> Path:
    """Where this machine keeps the sweep's trial folders (WORK_DIR/sweeps/<id>)."""
    return sweepstate.sweep_folder(settings.work_root, sweep_id)


def pull_trial(store: ObjectStore, settings: Settings, sweep_id: str, number: int) -> Path:
    """Bring trial `number`'s stored checkpoints to this machine (nothing stored yet: an empty folder)."""
    folder = sweepstate.trial_folder(settings.work_root, sweep_id, number)
    fetched = pull(store, trial_prefix(sweep_id, number), folder)
    if fetched:
        log.info("sweep %s: trial %d: %d stored file(s) pulled into %s", sweep_id, number, fetched, folder)
    return folder


def push_trial(store: ObjectStore, settings: Settings, sweep_id: str, number: int) -> int:
    """Send what changed in trial `number`'s folder to the store; returns how many files went."""
    folder = sweepstate.trial_folder(settings.work_root, sweep_id, number)
    return push(store, folder, trial_prefix(sweep_id, number))
