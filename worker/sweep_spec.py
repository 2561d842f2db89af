"""What a worker needs to know about a job's sweep, read with the job: a batch's settings, the best trial's folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.db import Job, Sweep

SETTINGS = ("id", "model", "space", "strategy", "trials", "batch_size", "objective", "seed", "pruner")


def sweep_spec(session: Session, job: Job) -> dict[str, Any]:
    """Extra spec entries: a sweep job's batch and sweep settings; the best trial (sweep id, number) for the
    train job of a sweep's best trial; nothing for other jobs."""
    sweep = session.get(Sweep, job.sweep_id) if job.sweep_id else None
    if sweep is None:
        return {}
    if job.type == "sweep":
        return {"sweep_batch": job.sweep_batch, "sweep": {k: getattr(sweep, k) for k in SETTINGS}}
    best = (sweep.result or {}).get("best_trial")
    if job.type == "train" and best is not None:
        return {"best_trial": (sweep.id, int(best))}
    return {}


def seed_from_trial(trial_dir: Path, output_dir: Path, model: str) -> None:
    """Copy a trial's checkpoints into a train job's folder: the trainer resumes the finished checkpoint, trains no
    further, then exports, verifies and evaluates as after any run (ml.sweep.runner.export_best_trial's way)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in (f"{model}.best.pt", f"{model}.last.pt"):
        if (trial_dir / name).exists():
            shutil.copy2(trial_dir / name, output_dir / name)
