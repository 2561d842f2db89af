"""A sweep job: one batch of a sweep's trials, asked from the sweep's Optuna journal, trained in stacks, told.

The journal lives in the service database (app.sweep_journal), shared by every batch job of the sweep on any
machine. Each asked trial carries its batch index as a user attribute, so a re-delivered batch (its worker died,
or stopped on shutdown) finds the same trials with the same params and resumes them from their checkpoints,
pulled from the object store first (worker.sweep_store); only trials it never asked are asked anew. Asking holds
the sweep's ask lease (app.sweep_ask_lock): GridSampler picks an unvisited point from what the journal holds, so
two batches asking at once could otherwise pick the same point.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import sweepstate
from app.config import Settings
from app.db.retry import in_transaction
from app.storage import ObjectStore, store_for
from app.sweep_ask_lock import ask_lock
from app.sweep_journal import sweep_storage
from ml.config import TrainConfig
from ml.pipeline import DataSource
from ml.sweep.runner import SweepCallbacks, TrialRecord, train_asked
from ml.sweep.search import ask_batch, open_study
from ml.sweep.space import Param, apply_params, parse_space
from worker.sweep_store import pull_trial, push_trial, sweep_work_dir

if TYPE_CHECKING:
    import optuna

    from worker.runner import JobCallbacks

log = logging.getLogger(__name__)
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


def batch_handles(
    study: optuna.study.Study, params: list[Param], index: int, size: int
) -> tuple[list[optuna.trial.Trial], list[optuna.trial.FrozenTrial]]:
    """(running trials to train, trials already told) of batch `index`; asks what the batch still lacks."""
    import optuna

    mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("batch") == index]
    running = [optuna.trial.Trial(study, t._trial_id) for t in mine if t.state == optuna.trial.TrialState.RUNNING]
    told = [t for t in mine if t.state.is_finished()]
    for handle in ask_batch(study, params, max(0, size - len(mine))):
        handle.set_user_attr("batch", index)  # before anything else: a re-delivery must find it
        running.append(handle)
    return running, told


def _row(number: int, index: int, params: dict[str, Any], status: str, record: TrialRecord | None) -> dict[str, Any]:
    row: dict[str, Any] = {"number": number, "batch": index, "params": params, "status": status}
    if record is not None:
        row.update(objective=record.objective, epochs=record.epochs, best_epoch=record.best_epoch,
                   best_val_loss=record.best_val_loss, stop_reason=record.stop_reason)  # fmt: skip
    return row


def _told_row(trial: optuna.trial.FrozenTrial, index: int) -> dict[str, Any]:
    attrs = trial.user_attrs
    status = STATES.get(trial.state.name, "failed")
    record = TrialRecord(
        trial.number, dict(trial.params), status, trial.value if status == "complete" else None,
        int(attrs.get("epochs", 0)), int(attrs.get("best_epoch", 0)), attrs.get("best_val_loss"),
        attrs.get("stop_reason"),
    )  # fmt: skip
    return _row(trial.number, index, dict(trial.params), status, record)


class BatchCallbacks(SweepCallbacks):
    """Per-trial metrics rows (model "trial-NNNN") and progress on the batch job; stops on cancel or lease loss."""

    def __init__(
        self, job: JobCallbacks, settings: Settings, store: ObjectStore, sweep_id: str, index: int,
        epochs: dict[int, int],
    ) -> None:  # fmt: skip
        self.job, self.settings, self.store, self.sweep_id, self.index = job, settings, store, sweep_id, index
        self.planned, self.done = epochs, dict.fromkeys(epochs, 0)

    def on_epoch_end(self, trial: int, row: dict[str, Any]) -> None:
        """Queue the trial's metrics row and the batch's progress (epochs done over epochs planned)."""
        self.done[trial] = int(row["epoch"])
        fraction = sum(self.done.values()) / max(sum(self.planned.values()), 1)
        self.job.pending.append((f"trial-{trial:04d}", dict(row)))
        self.job.progress.update(current_model=f"trial {trial}", epoch=int(row["epoch"]),
                                 total_epochs=self.planned.get(trial), progress=min(fraction, 1.0),
                                 latest_metrics={**row, "trial": trial})  # fmt: skip
        self.job.flush()

    def on_checkpoint(self, trial: int, path: Path, epoch: int) -> None:
        """Metrics up to the checkpoint are written with it, so a resumed trial's curve has no gap; the trial's
        folder goes to the store, so a batch re-delivered to another machine resumes from this checkpoint."""
        self.job.flush(force=True)
        if self.job.stop_reason == "lease_lost":  # the batch's new owner writes from now on
            return
        try:
            push_trial(self.store, self.settings, self.sweep_id, trial)
        except Exception:  # the store is unreachable: training goes on, the next checkpoint or the end retries
            log.exception("sweep %s: could not push trial %d's checkpoint of epoch %d", self.sweep_id, trial, epoch)

    def on_resume(self, trial: int, history: list[dict[str, Any]]) -> None:
        """Re-insert the checkpoint's history rows (upserted by model and epoch), as JobCallbacks.on_resume does."""
        self.job.pending.extend((f"trial-{trial:04d}", dict(row)) for row in history)
        self.done[trial] = len(history)

    def on_trial_complete(self, record: TrialRecord) -> None:
        """Record the told trial on the sweep's trial table (fenced by this attempt)."""
        self.done[record.number] = self.planned.get(record.number, record.epochs)
        self.job.flush(force=True)
        write(self.settings, self.job, self.sweep_id,
              [_row(record.number, self.index, record.params, record.status, record)])  # fmt: skip

    def should_stop(self) -> bool:
        """Cancel requested, lease lost or worker shutting down."""
        return self.job.should_stop()


def write(settings: Settings, job: JobCallbacks, sweep_id: str, rows: list[dict[str, Any]]) -> None:
    """Upsert trial rows if this attempt still holds the batch job."""
    in_transaction(
        settings.database_url,
        lambda session: sweepstate.record_trials(
            session, job_id=job.job_id, attempt=job.attempt, sweep_id=sweep_id, rows=rows
        ),
        what=f"job {job.job_id}: sweep trials",
    )


def run_batch(
    spec: dict[str, Any], settings: Settings, source: DataSource, config: TrainConfig, callbacks: JobCallbacks
) -> dict[str, Any]:
    """Ask (or find again) this batch's trials, train them in stacks, tell them; the job's result lists them."""
    sweep, index = spec["sweep"], int(spec["sweep_batch"])
    store = store_for(settings)
    folder = sweep_work_dir(settings, sweep["id"])
    folder.mkdir(parents=True, exist_ok=True)
    params = parse_space(sweep["model"], sweep["space"], config)
    size = min(sweep["batch_size"], sweep["trials"] - index * sweep["batch_size"])
    storage = sweep_storage(settings.database_url, sweep["id"])
    with ask_lock(settings.database_url, sweep["id"]):
        study = open_study(None, sweep["strategy"], params, sweep["seed"], sweep["pruner"], storage=storage)
        handles, told = batch_handles(study, params, index, size)
    for handle in handles:  # a re-delivered batch resumes its trials from their stored checkpoints
        pull_trial(store, settings, sweep["id"], handle.number)
    log.info("sweep %s batch %d: %d trial(s) to train, %d already told", sweep["id"], index, len(handles), len(told))
    write(settings, callbacks, sweep["id"],
          [*(_told_row(t, index) for t in told), *(_row(h.number, index, dict(h.params), "running", None)
                                                   for h in handles)])  # fmt: skip
    in_transaction(settings.database_url, lambda s: sweepstate.mark_started(s, sweep_id=sweep["id"]), what="sweep")
    planned = {h.number: apply_params(sweep["model"], config, h.params).epochs for h in handles}
    bridge = BatchCallbacks(callbacks, settings, store, sweep["id"], index, planned)
    cancelled = False
    if handles:
        cancelled = train_asked(sweep["model"], source, config, handles, folder, study, callbacks=bridge,
                                objective=sweep["objective"], run_id=sweep["id"])  # fmt: skip
    for handle in handles:  # every checkpoint was pushed already; this retries any push that failed
        push_trial(store, settings, sweep["id"], handle.number)
    numbers = sorted([*(h.number for h in handles), *(t.number for t in told)])
    return {"sweep_id": sweep["id"], "batch": index, "trials": numbers, "cancelled": cancelled}
