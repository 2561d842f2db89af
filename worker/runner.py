"""Run one job: claim it, train or evaluate through ml.pipeline, report progress, store artifacts, finish.

Everything that touches the job row is fenced by the attempt number this worker claimed; a worker that loses
its lease (the sweeper re-queued the job) stops training at the next batch and writes nothing more. A worker
asked to shut down stops at the next batch too, keeps its checkpoint and releases the job (queued again, sent
to the broker, the attempt given back). Every state write is retried on transient database errors.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import jobstate, sweepstate
from app.config import Settings
from app.db import Dataset, Job, session_scope
from app.db.retry import in_transaction
from app.errors import DomainError
from app.objects import job_prefix
from app.services.datasets import record_validation, resolve_under_roots
from app.storage import ObjectStore, is_url, store_for
from ml.config import TrainConfig
from ml.errors import MltrainError
from ml.train.callbacks import TrainCallbacks
from worker import shutdown
from worker.artifacts import describe_outputs
from worker.store import job_dir, local_dataset, pull_job, push_job
from worker.sweep_spec import seed_from_trial, sweep_spec
from worker.sweep_store import pull_trial

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_SECONDS = 0.5
CANCEL_POLL_SECONDS = 1.0


class JobCallbacks(TrainCallbacks):
    """Writes throttled progress and per-epoch metrics; renews the lease; answers cancel and lost leases."""

    def __init__(
        self, settings: Settings, job_id: str, attempt: int, models: int, saved: Callable[[], object] | None = None
    ) -> None:
        self.settings, self.job_id, self.attempt, self.models = settings, job_id, attempt, models
        self.saved = saved  # after each checkpoint: send the work folder to the object store
        self.model_index = -1
        self.total_epochs = 1
        self.started = time.monotonic()
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.progress: dict[str, Any] = {}
        self.last_flush = 0.0
        self.stop = threading.Event()
        self.stop_reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, name=f"lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> JobCallbacks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self.flush(force=True)

    def _heartbeat(self) -> None:
        last_renew = 0.0
        while not self._done.wait(CANCEL_POLL_SECONDS):
            try:
                with session_scope(self.settings.database_url) as session:
                    ours, cancel = jobstate.renew_lease(
                        session, job_id=self.job_id, attempt=self.attempt, lease_seconds=self.settings.lease_seconds
                    )
                last_renew = time.monotonic()
            except Exception:  # a database hiccup: try again next tick; the lease outlives a few misses
                log.exception("job %s: heartbeat failed", self.job_id)
                if time.monotonic() - last_renew > self.settings.lease_seconds:
                    self._halt("lease_lost")
                continue
            if not ours:
                self._halt("lease_lost")
            elif cancel:
                self._halt("cancelled")

    def _halt(self, reason: str) -> None:
        if not self.stop.is_set():
            log.info("job %s: stopping (%s)", self.job_id, reason)
            self.stop_reason = reason
            self.stop.set()

    def on_train_start(self, model_key: str, total_epochs: int, start_epoch: int) -> None:
        """A model starts (or resumes)."""
        self.model_index += 1
        self.total_epochs = total_epochs
        self.progress.update(current_model=model_key, epoch=start_epoch, total_epochs=total_epochs)
        self.flush(force=True)

    def on_epoch_end(self, model_key: str, row: dict[str, Any]) -> None:
        """Queue the metrics row and progress; written at most every PROGRESS_INTERVAL_SECONDS."""
        epoch = int(row["epoch"])
        done_units = self.model_index * self.total_epochs + epoch
        fraction = min(done_units / max(self.models * self.total_epochs, 1), 1.0)
        elapsed = time.monotonic() - self.started
        eta = elapsed / fraction * (1.0 - fraction) if fraction > 0 else None
        self.pending.append((model_key, dict(row)))
        self.progress.update(
            current_model=model_key, epoch=epoch, progress=fraction, eta_seconds=eta, latest_metrics=dict(row)
        )
        self.flush(force=epoch >= self.total_epochs)

    def flush(self, force: bool = False) -> None:
        """Write pending metrics and progress if due (or forced)."""
        now = time.monotonic()
        if not force and now - self.last_flush < PROGRESS_INTERVAL_SECONDS:
            return
        self.last_flush = now
        rows, progress = list(self.pending), dict(self.progress)

        def write(session: Session) -> bool:
            ours = jobstate.record_progress(session, job_id=self.job_id, attempt=self.attempt, values=progress)
            if ours:
                jobstate.record_metrics(session, job_id=self.job_id, rows=rows)
            return ours

        ours = in_transaction(self.settings.database_url, write, what=f"job {self.job_id}: metrics")
        # Dropped only once written: a failed flush keeps its rows for the next one.
        del self.pending[: len(rows)]
        if not ours:
            self._halt("lease_lost")

    def on_resume(self, model_key: str, history: list[dict[str, Any]]) -> None:
        """Re-insert the checkpoint's metrics history (upsert): the rows match the weights we resume from."""
        self.pending.extend((model_key, dict(row)) for row in history)
        self.flush(force=True)

    def before_checkpoint(self, model_key: str, epoch: int) -> None:
        """Flush pending metrics before the checkpoint after them is written."""
        self.flush(force=True)

    def on_checkpoint(self, model_key: str, path: Path, epoch: int) -> None:
        """Push the checkpoint (and whatever else changed) to the store, so another machine can resume."""
        if self.saved is None or self.stop_reason == "lease_lost":  # the job's new owner writes from now on
            return
        try:
            self.saved()
        except Exception:  # the store is unreachable: training goes on, the next checkpoint or the end retries
            log.exception("job %s: could not push the checkpoint of epoch %d to the store", self.job_id, epoch)

    def should_stop(self) -> bool:
        """True once cancel was requested, the lease was lost or the worker process is shutting down."""
        if shutdown.requested():
            self._halt("shutdown")
        return self.stop.is_set()


def _lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_job(job_id: str, settings: Settings) -> str | None:
    """Run job `job_id` if this delivery can claim it; returns the final status, or None if not claimed."""
    if shutdown.requested():
        # A message taken while shutting down (the broker may hand this worker its own release) is acked when
        # this returns: send it again for the next worker instead of losing it.
        _send_again(job_id, settings)
        return None
    attempt = in_transaction(
        settings.database_url,
        lambda session: jobstate.claim(
            session, job_id=job_id, lease_owner=_lease_owner(), lease_seconds=settings.lease_seconds
        ),
        what=f"job {job_id}: claim",
    )
    if attempt is None:
        return None
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        dataset = session.get(Dataset, job.dataset_id) if job.dataset_id else None
        spec = {
            "type": job.type,
            "model": job.model,
            "params": dict(job.params),
            "synthetic": job.synthetic,
            "dataset": (dataset.path, dataset.format) if dataset else None,
            "dataset_id": job.dataset_id,
            "source_job_id": job.source_job_id,
            "sweep_id": job.sweep_id,
            **sweep_spec(session, job),
        }
    store = store_for(settings)
    output_dir = job_dir(settings, job_id)
    writes = spec["type"] != "validate"  # a scan writes no files, only its report
    if writes:
        output_dir.mkdir(parents=True, exist_ok=True)
    log.info("job %s: attempt %d, %s %s", job_id, attempt, spec["type"], spec["model"])
    status, result, error = "failed", None, None
    models = 5 if spec["model"] == "all" else 1  # validate jobs report files, not models
    saved = (lambda: push_job(store, output_dir, job_id)) if writes else None
    with JobCallbacks(settings, job_id, attempt, models, saved) as callbacks:
        try:
            result = _run(spec, settings, store, output_dir, callbacks, job_id, attempt)
            status = "cancelled" if callbacks.stop_reason == "cancelled" else "succeeded"
            if callbacks.stop_reason == "lease_lost":
                log.warning("job %s: lease lost during attempt %d; leaving the job to its new owner", job_id, attempt)
                return None
            if callbacks.stop_reason == "shutdown":
                status = "released"
        except MltrainError as exc:
            error = str(exc)
        except Exception as exc:  # anything else is a bug, but the job must end failed, not hang in running
            log.exception("job %s failed", job_id)
            error = f"internal error: {type(exc).__name__}: {exc}"
    if writes:
        try:
            push_job(store, output_dir, job_id)  # before the job ends: a finished job's files are in the store
        except Exception as exc:
            log.exception("job %s: could not store its outputs", job_id)
            status, error = "failed", f"could not store the outputs in the object store: {type(exc).__name__}: {exc}"
    if status == "released":
        return _release(job_id, attempt, settings)
    if status == "cancelled":
        error = "cancelled by request"
    artifacts = describe_outputs(output_dir, job_prefix(job_id)) if output_dir.exists() else []

    to_send: list[str] = []

    def end(session: Session) -> bool:
        to_send.clear()  # a retried transaction starts over
        jobstate.record_artifacts(session, job_id=job_id, artifacts=artifacts)
        if not jobstate.finish(session, job_id=job_id, attempt=attempt, status=status, result=result, error=error):
            return False
        if spec["type"] == "validate" and status != "cancelled" and spec["dataset_id"]:
            # Same transaction as the job's end: the data set is ready/invalid exactly when its job finished.
            report = (result or {}).get("report")
            record_validation(session, dataset_id=str(spec["dataset_id"]), job_id=job_id, report=report, error=error)
        if spec["sweep_id"]:
            # Same transaction too: the batch that ends last (or the best trial's job) moves its sweep on.
            to_send.extend(sweepstate.advance(session, sweep_id=str(spec["sweep_id"])))
        return True

    if not in_transaction(settings.database_url, end, what=f"job {job_id}: finish"):
        log.warning("job %s: attempt %d no longer holds the job; result not recorded", job_id, attempt)
        return None
    for next_id in to_send:
        _send_again(next_id, settings)
    log.info("job %s: %s", job_id, status)
    return status


def _send_again(job_id: str, settings: Settings) -> None:
    """Re-send a still-queued job to the broker (a failure is left to the sweeper: enqueued_at stays null)."""
    with session_scope(settings.database_url, read_only=True) as session:
        job = session.get(Job, job_id)
        queue = job.queue if job is not None and job.status == "queued" else None
    if queue is None:
        return
    try:
        from worker.celery_app import send_job

        send_job(job_id, queue, broker_url=settings.broker_url)
    except Exception:
        log.exception("job %s: could not re-send; the sweeper will", job_id)
        in_transaction(settings.database_url, lambda s: jobstate.mark_unsent(s, job_id=job_id), what="mark unsent")
        return
    in_transaction(settings.database_url, lambda s: jobstate.mark_sent(s, job_id=job_id), what="mark sent")


def _release(job_id: str, attempt: int, settings: Settings) -> str | None:
    """Give the job back (queued, attempt - 1) and send it to the broker at once; None if it was not ours."""
    released = in_transaction(
        settings.database_url,
        lambda session: jobstate.release(session, job_id=job_id, attempt=attempt),
        what=f"job {job_id}: release",
    )
    if not released:
        return None
    _send_again(job_id, settings)
    log.info("job %s: released at shutdown (attempt %d given back), queued again", job_id, attempt)
    return "queued"


def _run(
    spec: dict[str, Any],
    settings: Settings,
    store: ObjectStore,
    output_dir: Path,
    callbacks: JobCallbacks,
    job_id: str,
    attempt: int,
) -> dict[str, Any]:
    params = dict(spec["params"])
    dataset = spec["dataset"]
    if dataset is not None:
        _check_dataset_still_allowed(dataset[0], settings, store)
        dataset = (local_dataset(settings, dataset[0]), dataset[1])  # an s3:// set: synced to this machine first
    if spec["type"] == "validate":
        if dataset is None:
            raise MltrainError("the data set was deleted before its validation ran")
        from worker.validation import run_validation

        return run_validation(dataset[0], dataset[1], str(params.get("subfolder", "")), settings, callbacks)
    from ml.pipeline import DataSource, run_evaluation, run_training

    source = DataSource(
        synthetic=spec["synthetic"],
        datasets_dir=dataset[0] if dataset else None,
        format=dataset[1] if dataset else None,
        cache_dir=settings.work_root / "cache",
    )
    params.setdefault("threads", settings.torch_threads)
    config = TrainConfig.from_dict(params)
    if spec["type"] == "sweep":
        from worker.sweep_batch import run_batch

        return run_batch(spec, settings, source, config, callbacks)
    if spec["type"] == "evaluate":
        if not spec["source_job_id"]:
            raise MltrainError("evaluate jobs need source_job_id: a finished train job whose models to evaluate")
        models_dir = pull_job(store, settings, spec["source_job_id"])
        if not models_dir.is_dir() or not [p for p in models_dir.iterdir() if not p.name.startswith(".")]:
            raise MltrainError(f"the models of train job {spec['source_job_id']} are gone from the object store")
        return {"evaluation": run_evaluation(models_dir, source, output_dir / "evaluation.json", config=config)}
    # A re-delivered or released job continues from its last complete checkpoint instead of epoch 0 (the folder
    # is the job's own, so any checkpoint in it is this job's); on a fresh disk it comes from the store first.
    pull_job(store, settings, job_id)
    if spec.get("best_trial") and not any(output_dir.glob("*.last.pt")):
        sweep_id, number = spec["best_trial"]  # a sweep's best trial: its checkpoints, from the store if need be
        seed_from_trial(pull_trial(store, settings, sweep_id, number), output_dir, spec["model"])
    resume = any(output_dir.glob("*.last.pt"))
    summary = run_training(spec["model"], source, config, output_dir, resume=resume, callbacks=callbacks, run_id=job_id)
    return summary.to_dict()


def _check_dataset_still_allowed(path: str | Path, settings: Settings, store: ObjectStore | None = None) -> None:
    """The registration check again, at run time (a symlink may have been repointed since); an `s3://` path
    must be an upload's folder in this service's store or lie under MLTRAIN_DATASET_URL_ROOTS."""
    path = str(path)
    if is_url(path):
        store = store or store_for(settings)
        if not path.startswith((store.key_url("datasets/"), *settings.dataset_url_roots)):
            raise MltrainError(f"data set {path} is neither in the object store nor under MLTRAIN_DATASET_URL_ROOTS")
        return
    try:
        resolve_under_roots(path, settings.resolved_roots())
    except DomainError as exc:
        raise MltrainError(f"data set folder no longer usable: {exc.detail}") from None
