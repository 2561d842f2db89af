"""Sweeps on the API side: submit (space validated up front), read, list, cancel, retrain the best trial."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import objects, sweepstate
from app.db import Job, JobMetric, Sweep, SweepTrial
from app.errors import Conflict, NotFound, Unprocessable
from app.services.jobs import check_active_limit, check_data_source, create_job
from ml.config import TrainConfig
from ml.errors import ConfigError
from ml.sweep.search import check_strategy
from ml.sweep.space import parse_space

log = logging.getLogger(__name__)
# Retraining keeps a sliver of validation (TrainConfig needs val_split > 0 for curves and the best checkpoint);
# the test split is carved first, so it stays the one every trial was scored against.
RETRAIN_VAL_SPLIT = 0.05


@dataclass
class SweepDetail:
    """A sweep with its trials, batch jobs and the epochs each trial has trained so far."""

    sweep: Sweep
    trials: list[SweepTrial]
    batches: list[Job]
    epochs: dict[int, int]


def create_sweep(
    session: Session, *, owner: str, body: dict[str, Any], max_attempts: int, max_epochs: int, max_active_jobs: int
) -> tuple[Sweep, list[Job]]:
    """Insert a queued sweep and its first batch jobs (not committed, not sent); every input checked first."""
    model, params, space = body["model"], dict(body.get("params") or {}), dict(body["space"])
    try:
        config = TrainConfig.from_dict(params)
    except ConfigError as exc:
        raise Unprocessable(f"params: {exc}") from None
    try:
        parsed = parse_space(model, space, config)
        total = check_strategy(body["strategy"], parsed, body.get("trials"))
    except ConfigError as exc:
        raise Unprocessable(f"space: {exc}") from None
    epochs = [config.epochs, *(max(p.values) if p.values else p.high for p in parsed if p.name == "epochs")]
    if max(epochs) > max_epochs:
        raise Unprocessable(f"params: epochs must be at most {max_epochs} on this server (MLTRAIN_MAX_EPOCHS)")
    dataset_id = check_data_source(session, owner=owner, body=body)
    check_active_limit(session, owner=owner, max_active_jobs=max_active_jobs)
    sweep = Sweep(
        id=objects.new_id(),
        owner=owner,
        model=model,
        dataset_id=dataset_id,
        synthetic=bool(body.get("synthetic")),
        params=params,
        space=space,
        strategy=body["strategy"],
        trials=total,
        batch_size=min(body.get("batch_size") or sweepstate.default_batch_size(body["strategy"], total), total),
        objective=body.get("objective") or "val_loss",
        seed=int(body.get("seed") or 0),
        pruner=body.get("pruner") or "median",
        status="queued",
        cancel_requested=False,
    )
    session.add(sweep)
    session.flush()
    # TPE batches are chained (app.sweepstate.advance enqueues the next) so each learns from the ones before.
    first = 1 if sweep.strategy == "tpe" else sweepstate.batch_count(sweep)
    jobs = [sweepstate.create_batch(session, sweep, index, max_attempts) for index in range(first)]
    return sweep, jobs


def get_sweep(session: Session, *, owner: str, sweep_id: str) -> Sweep:
    """The owner's sweep, else NotFound."""
    sweep = session.get(Sweep, sweep_id)
    if sweep is None or sweep.owner != owner:
        raise NotFound(f"no sweep {sweep_id}")
    return sweep


def sweep_detail(session: Session, *, owner: str, sweep_id: str) -> SweepDetail:
    """The sweep, its trials by number, its batch jobs by index and each trial's epochs so far."""
    sweep = get_sweep(session, owner=owner, sweep_id=sweep_id)
    trials = list(
        session.scalars(select(SweepTrial).where(SweepTrial.sweep_id == sweep_id).order_by(SweepTrial.number))
    )
    batches = list(
        session.scalars(
            select(Job).where(Job.sweep_id == sweep_id, Job.sweep_batch.is_not(None)).order_by(Job.sweep_batch)
        )
    )
    # A running trial's epochs come from its metrics rows (model "trial-NNNN" on its batch job), live.
    rows = session.execute(
        select(JobMetric.model, func.max(JobMetric.epoch))
        .where(JobMetric.job_id.in_([b.id for b in batches]), JobMetric.model.like("trial-%"))
        .group_by(JobMetric.model)
    ).all()
    epochs = {int(name.removeprefix("trial-")): int(epoch) for name, epoch in rows}
    return SweepDetail(sweep, trials, batches, epochs)


def list_sweeps(
    session: Session, *, owner: str, status: str | None, limit: int, offset: int
) -> tuple[list[Sweep], int]:
    """A page of the owner's sweeps, newest first, and the total count."""
    query = select(Sweep).where(Sweep.owner == owner)
    if status:
        query = query.where(Sweep.status == status)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Sweep.created_at.desc(), Sweep.id).limit(limit).offset(offset))
    return list(rows), count


def cancel_sweep(session: Session, *, owner: str, sweep_id: str) -> Sweep:
    """Queued batches end at once, running ones at their next batch of rows; the sweep ends cancelled once none
    is left (at once when none was running). A finished sweep is a 409."""
    sweep = get_sweep(session, owner=owner, sweep_id=sweep_id)
    if sweep.status in sweepstate.FINISHED:
        raise Conflict(f"sweep {sweep_id} already finished ({sweep.status}); nothing to cancel")
    sweepstate.request_cancel(session, sweep=sweep)
    sweepstate.advance(session, sweep_id=sweep_id)
    session.flush()
    session.refresh(sweep)
    return sweep


def retrain_body(sweep: Sweep, best: SweepTrial) -> dict[str, Any]:
    """A train job of the best trial on train + validation: its best epoch's count of epochs, early stopping off."""
    params = sweepstate.trial_params(sweep.model, dict(sweep.params), dict(best.params))
    params.update(epochs=max(1, best.best_epoch or best.epochs), early_stopping_patience=0, val_split=RETRAIN_VAL_SPLIT)
    source: dict[str, Any] = {"dataset_id": sweep.dataset_id} if sweep.dataset_id else {"synthetic": True}
    return {"type": "train", "model": sweep.model, "params": params, "queue": "cpu", **source}


def retrain(
    session: Session, *, owner: str, sweep_id: str, max_attempts: int, max_epochs: int, max_active_jobs: int
) -> Job:
    """Queue the retrain job of a succeeded sweep's best trial (not committed, not sent)."""
    sweep = get_sweep(session, owner=owner, sweep_id=sweep_id)
    if sweep.status != "succeeded":
        raise Conflict(f"sweep {sweep_id} is {sweep.status}: its best trial is retrained once it has succeeded")
    best = sweepstate.best_trial(session, sweep_id)
    if best is None:
        raise Conflict(f"sweep {sweep_id} has no complete trial to retrain")
    if not sweep.synthetic and not sweep.dataset_id:
        raise Conflict(f"the data set of sweep {sweep_id} was deleted")
    job, _ = create_job(
        session,
        owner=owner,
        body=retrain_body(sweep, best),
        idempotency_key=None,
        max_attempts=max_attempts,
        max_epochs=max_epochs,
        max_active_jobs=max_active_jobs,
    )
    earlier = (sweep.result or {}).get("retrain_job_ids", [])
    sweep.result = {**(sweep.result or {}), "retrain_job_ids": [*earlier, job.id]}  # a new dict: JSON is replaced
    return job
