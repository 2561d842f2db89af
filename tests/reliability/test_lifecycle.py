"""Graceful stop, parent death and recovery time, with real processes (SQLite + SQLAlchemy broker)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.db import Job, JobMetric, session_scope
from tests.integration.conftest import BIN, Stack, _spawn, free_port, start_stack, stop

pytestmark = [pytest.mark.slow, pytest.mark.integration]
LEASE = 3.0
# ~0.1 s per epoch: many epochs per metrics flush interval, so a kill lands between a checkpoint and its flush.
FAST = {"synthetic_samples": 512, "batch_size": 16, "checkpoint_every": 1, "early_stopping_patience": 0}
MODEL = "melody_transformer"
EPOCHS = 30
KILLS = 2


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(
        tmp_path,
        f"sqlite:///{tmp_path / 'mltrain.db'}",
        f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        MLTRAIN_LEASE_SECONDS=str(LEASE),
        MLTRAIN_MAX_ATTEMPTS="10",
    )
    sweeper = _spawn([str(BIN / "mltrain"), "sweeper"], running.env, tmp_path / "sweeper.log")  # interval: lease/4
    try:
        yield running
    finally:
        stop(sweeper)
        stop(running.worker)
        stop(running.api)


def _job(stack: Stack, job_id: str) -> Job:
    with session_scope(stack.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _submit(stack: Stack, **params: object) -> str:
    with stack.client() as client:
        body = {"type": "train", "model": MODEL, "synthetic": True, "params": params}
        return str(client.post("/jobs", json=body).json()["id"])


def _wait(stack: Stack, job_id: str, ready: object, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(stack, job_id)
        if ready(job):  # type: ignore[operator]
            return job
        time.sleep(0.05)
    pytest.fail(f"job {job_id} never got there: {stack.worker_log()[-3000:]}")


def _metric_epochs(stack: Stack, job_id: str) -> list[int]:
    with session_scope(stack.database_url) as session:
        rows = session.scalars(select(JobMetric.epoch).where(JobMetric.job_id == job_id).order_by(JobMetric.epoch))
        return list(rows)


def test_sigterm_during_training_releases_the_job_without_an_attempt_and_it_finishes(stack: Stack) -> None:
    # checkpoint_every 5: the stop lands between checkpoints and must still save the last complete epoch.
    job_id = _submit(stack, **{**FAST, "synthetic_samples": 2048, "checkpoint_every": 5, "epochs": 8})
    _wait(stack, job_id, lambda job: job.status == "running" and (job.epoch or 0) >= 2)
    signalled = time.monotonic()
    stack.worker.send_signal(signal.SIGTERM)  # the worker's main process only, as `serve` does
    stack.worker.wait(timeout=10)
    stopped = time.monotonic() - signalled
    released = _job(stack, job_id)
    assert (released.status, released.attempt, released.enqueued_at is not None) == ("queued", 0, True)
    assert "released at shutdown" in stack.worker_log()
    print(f"stop after SIGTERM: {stopped:.2f} s")
    assert stopped < 10
    stack.start_worker()
    done = stack.wait_for(job_id, timeout=120)
    assert done["status"] == "succeeded" and done["attempt"] == 1, done["error"]
    assert _metric_epochs(stack, job_id) == list(range(1, 9))
    assert "resuming after epoch" in stack.worker_log()


def test_a_killed_workers_job_runs_again_within_two_leases_and_no_epoch_is_lost(stack: Stack) -> None:
    # A standby worker beside the one we kill: recovery time is the mechanism's (lease, sweep, re-send, claim),
    # not a worker's start-up.
    standby = _spawn([str(BIN / "mltrain"), "worker", "--queues", "cpu"], stack.env, stack.log_dir / "standby.log")
    workers = {stack.worker.pid: stack.worker, standby.pid: standby}
    try:
        job_id = _submit(stack, **FAST, epochs=EPOCHS)
        recoveries = []
        for kill in range(KILLS):
            job = _wait(stack, job_id, lambda job, k=kill: job.status == "running" and job.attempt == k + 1)
            _wait(stack, job_id, lambda job, e=job.epoch or 0: (job.epoch or 0) > e)  # mid-training
            owner = int(str(job.lease_owner).rsplit(":", 1)[1])
            os.killpg(owner, signal.SIGKILL)
            killed = time.monotonic()
            workers.pop(owner).wait(timeout=10)
            _wait(stack, job_id, lambda job, k=kill: job.status == "running" and job.attempt == k + 2, timeout=30)
            recoveries.append(time.monotonic() - killed)
            if kill == KILLS - 1:
                break  # the standby finishes the job: no replacement needed
            replacement = _spawn(
                [str(BIN / "mltrain"), "worker", "--queues", "cpu"], stack.env, stack.log_dir / f"w{kill}.log"
            )
            workers[replacement.pid] = replacement
        print("recovery after SIGKILL (s):", [f"{r:.1f}" for r in recoveries])
        assert max(recoveries) < 2 * LEASE + 1.5  # lease expiry + a sweep + broker poll, not minutes
        done = stack.wait_for(job_id, timeout=120)
        assert done["status"] == "succeeded" and done["attempt"] == KILLS + 1, done["error"]
        assert _metric_epochs(stack, job_id) == list(range(1, EPOCHS + 1))  # every epoch exactly once
    finally:
        for process in workers.values():
            stop(process)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in found.stdout.split()]


def test_a_sigkill_of_serve_leaves_no_worker_behind(tmp_path: Path) -> None:
    (tmp_path / "datasets").mkdir()
    env = {
        **os.environ,
        "MLTRAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'mltrain.db'}",
        "MLTRAIN_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "MLTRAIN_OBJECT_DIR": str(tmp_path / "objects"),
        "MLTRAIN_DATASET_ROOTS": str(tmp_path / "datasets"),
        "MLTRAIN_TOKEN_FILE": str(tmp_path / "token"),
        "MLTRAIN_TORCH_THREADS": "1",
    }
    port = free_port()
    serve = _spawn([str(BIN / "mltrain"), "serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = _children(serve.pid)
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                up = False
            if up and len(workers) == 2 and "ready" in (tmp_path / "serve.log").read_text():
                break
            time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "serve.log").read_text()[-3000:])
        serve.kill()
        serve.wait(timeout=5)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        stop(serve)
