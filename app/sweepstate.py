"""The sweep state machine: batch jobs in the ordinary job queue, then the best trial as an ordinary train job.

    create -> queued --first batch claimed--> running --every batch finished--> best trial's train job queued
    --it finishes--> succeeded (failed if it failed, or if no trial completed) ; cancel -> cancelled

grid and random sweeps enqueue every batch job at once (any number of workers share them); TPE enqueues one
batch at a time, the next when one succeeds, so each batch's sampler has learned from every earlier result.
`advance` is the one place that moves a sweep on: it locks the sweep row and looks at its jobs, so the worker
that finishes the last batch, the sweeper and a cancel can all call it, any number of times. Torch-free.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import jobstate, objects
from app.db import Job, Sweep, SweepTrial, utcnow
from ml.models.registry import MODELS

log = logging.getLogger(__name__)
MAX_BATCH = 32  # ml.sweep.runner.MAX_STACK
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")


def default_batch_size(strategy: str, total: int) -> int:
    """Trials per batch job: docs/sweeps.md's defaults (ml.sweep.runner._default_batch, torch-free here)."""
    if strategy == "tpe":  # a quarter of the trials per batch leaves TPE three rounds of feedback
        return max(1, min(MAX_BATCH, math.ceil(total / 4)))
    return min(MAX_BATCH, total)


def batch_count(sweep: Sweep) -> int:
    """How many batch jobs the sweep runs."""
    return math.ceil(sweep.trials / sweep.batch_size)


def batch_trials(sweep: Sweep, index: int) -> int:
    """How many trials batch `index` trains (the last one may be short)."""
    return min(sweep.batch_size, sweep.trials - index * sweep.batch_size)


def sweep_folder(object_dir: Path, sweep_id: str) -> Path:
    """`OBJECT_DIR/sweeps/<id>`: the Optuna journal and every trial's checkpoints (trials/NNNN)."""
    return object_dir / "sweeps" / objects.check_id(sweep_id)


def trial_folder(object_dir: Path, sweep_id: str, number: int) -> Path:
    """A trial's checkpoints (ml.sweep.runner.trial_folder's layout)."""
    return sweep_folder(object_dir, sweep_id) / "trials" / f"{number:04d}"


def trial_params(model: str, params: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A train job's params for one trial: the sweep's fixed params with the trial's values (layers go to the
    model's architecture), as ml.sweep.space.apply_params does on a TrainConfig."""
    layers = set(MODELS[model].default_architecture)
    out = {**params}
    architecture = {**(out.get("architecture") or {})}
    layer_sizes = {**(architecture.get(model) or {})}
    for name, value in values.items():
        if name in layers:
            layer_sizes[name] = value
        else:
            out[name] = value
    if layer_sizes:
        architecture[model] = layer_sizes
        out["architecture"] = architecture
    return out


def create_batch(session: Session, sweep: Sweep, index: int, max_attempts: int) -> Job:
    """A queued sweep job for batch `index` (flushed, not committed, not yet sent)."""
    return jobstate.create(
        session,
        id=objects.new_id(),
        owner=sweep.owner,
        type="sweep",
        model=sweep.model,
        dataset_id=sweep.dataset_id,
        synthetic=sweep.synthetic,
        params=dict(sweep.params),
        queue="cpu",
        max_attempts=max_attempts,
        sweep_id=sweep.id,
        sweep_batch=index,
    )


def mark_started(session: Session, *, sweep_id: str) -> None:
    """queued -> running when its first batch starts."""
    now = utcnow()
    session.execute(
        update(Sweep).where(Sweep.id == sweep_id, Sweep.status == "queued").values(status="running", started_at=now)
    )


def record_trials(session: Session, *, job_id: str, attempt: int, sweep_id: str, rows: list[dict[str, Any]]) -> bool:
    """Upsert trial rows by (sweep, number) if this attempt still holds the batch job; False if it lost it."""
    holder = session.execute(select(Job.status, Job.attempt).where(Job.id == job_id)).first()
    if holder is None or tuple(holder) != ("running", attempt):
        return False
    for row in rows:
        trial = session.scalar(
            select(SweepTrial).where(SweepTrial.sweep_id == sweep_id, SweepTrial.number == row["number"])
        )
        if trial is None:
            trial = SweepTrial(sweep_id=sweep_id, number=row["number"])
            session.add(trial)
        for key, value in row.items():
            setattr(trial, key, value)
        trial.job_id = job_id
    session.flush()
    return True


def _finish(sweep: Sweep, status: str, error: str | None = None) -> None:
    now = utcnow()
    sweep.status, sweep.error, sweep.finished_at = status, error, now


def best_trial(session: Session, sweep_id: str) -> SweepTrial | None:
    """The complete trial with the lowest objective (ties: the lower number)."""
    return session.scalar(
        select(SweepTrial)
        .where(SweepTrial.sweep_id == sweep_id, SweepTrial.status == "complete", SweepTrial.objective.is_not(None))
        .order_by(SweepTrial.objective, SweepTrial.number)
        .limit(1)
    )


def _summary(session: Session, sweep: Sweep, batches: Sequence[Any]) -> dict[str, Any]:
    counts = dict(
        session.execute(
            select(SweepTrial.status, func.count()).where(SweepTrial.sweep_id == sweep.id).group_by(SweepTrial.status)
        ).all()
    )
    best = best_trial(session, sweep.id)
    errors = [f"batch {b.sweep_batch} ({b.id[:8]}): {b.error}" for b in batches if b.status == "failed" and b.error]
    return {
        "counts": {k: int(v) for k, v in counts.items()},
        "best_trial": best.number if best else None,
        "best_objective": best.objective if best else None,
        "batch_errors": errors,
    }


def advance(session: Session, *, sweep_id: str) -> list[str]:
    """Move the sweep on from its jobs' states (idempotent; locks the sweep row); returns job ids to send."""
    sweep = session.scalar(select(Sweep).where(Sweep.id == sweep_id).with_for_update())
    if sweep is None or sweep.status in FINISHED:
        return []
    # Column rows, not ORM objects: the session may hold stale copies of these jobs from earlier in the transaction.
    batches = session.execute(
        select(Job.id, Job.status, Job.sweep_batch, Job.error, Job.max_attempts)
        .where(Job.sweep_id == sweep_id, Job.sweep_batch.is_not(None))
        .order_by(Job.sweep_batch)
    ).all()
    if sweep.best_job_id:
        best = session.execute(select(Job.status, Job.error).where(Job.id == sweep.best_job_id)).first()
        status = best.status if best is not None else "failed"
        if status in ACTIVE:
            return []
        if status == "succeeded":
            _finish(sweep, "succeeded")
        elif status == "cancelled" or sweep.cancel_requested:
            _finish(sweep, "cancelled", "cancelled by request")
        else:
            reason = best.error if best is not None else "its job is gone"
            _finish(sweep, "failed", f"the best trial's train job {sweep.best_job_id} failed: {reason}")
        return []
    if any(b.status in ACTIVE for b in batches):
        return []
    if sweep.cancel_requested:
        sweep.result = _summary(session, sweep, batches)
        _finish(sweep, "cancelled", "cancelled by request")
        return []
    next_index = len(batches)
    last_ok = not batches or batches[-1].status == "succeeded"
    max_attempts = batches[0].max_attempts if batches else 3
    if next_index < batch_count(sweep) and last_ok:  # TPE: the next batch learns from every told trial
        return [create_batch(session, sweep, next_index, max_attempts).id]
    # Every batch is over. Trials a failed batch left running never get a result.
    session.execute(
        update(SweepTrial)
        .where(SweepTrial.sweep_id == sweep_id, SweepTrial.status == "running")
        .values(status="failed", stop_reason="batch_failed")
    )
    sweep.result = _summary(session, sweep, batches)
    best_row = best_trial(session, sweep_id)
    if best_row is None:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(sweep.result["counts"].items())) or "no trial ran"
        errors = "; ".join(sweep.result["batch_errors"])
        _finish(sweep, "failed", f"no trial completed ({counts})" + (f": {errors}" if errors else ""))
        return []
    job = _best_trial_job(session, sweep, best_row, max_attempts)
    sweep.best_job_id = job.id
    return [job.id]


def _best_trial_job(session: Session, sweep: Sweep, best: SweepTrial, max_attempts: int) -> Job:
    """The best trial as a queued train job: its worker first copies the trial's checkpoints into the job's folder
    (worker.sweep_spec), so it resumes the finished checkpoint and only exports, verifies and evaluates."""
    return jobstate.create(
        session,
        id=objects.new_id(),
        owner=sweep.owner,
        type="train",
        model=sweep.model,
        dataset_id=sweep.dataset_id,
        synthetic=sweep.synthetic,
        params=trial_params(sweep.model, dict(sweep.params), dict(best.params)),
        queue="cpu",
        max_attempts=max_attempts,
        sweep_id=sweep.id,
    )


def request_cancel(session: Session, *, sweep: Sweep) -> None:
    """Cancel every queued job of the sweep, ask running ones to stop; the sweep ends once none is left."""
    sweep.cancel_requested = True
    active = session.scalars(select(Job.id).where(Job.sweep_id == sweep.id, Job.status.in_(ACTIVE))).all()
    for job_id in active:
        jobstate.cancel(session, job_id=job_id)
    session.flush()


def stalled(session: Session) -> list[str]:
    """Unfinished sweeps with no queued or running job: what the sweeper advances (a batch that failed outside its
    worker, e.g. out of attempts when its lease expired, never called advance)."""
    busy = select(Job.id).where(Job.sweep_id == Sweep.id, Job.status.in_(ACTIVE)).exists()
    return list(session.scalars(select(Sweep.id).where(Sweep.status.in_(ACTIVE), ~busy)))
