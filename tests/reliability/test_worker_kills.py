"""Fault injection with real processes: SIGKILL the worker mid-epoch, again and again; the job still finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Job, JobMetric, session_scope
from tests.integration.conftest import BIN, Stack, _spawn, start_stack, stop

pytestmark = [pytest.mark.slow, pytest.mark.integration]
KILLS = 5
EPOCHS = 16


@pytest.fixture
def fragile_stack(tmp_path: Path):  # type: ignore[no-untyped-def]
    stack = start_stack(
        tmp_path,
        f"sqlite:///{tmp_path / 'mltrain.db'}",
        f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        MLTRAIN_LEASE_SECONDS="3",
        MLTRAIN_MAX_ATTEMPTS=str(KILLS + 2),
    )
    sweeper = _spawn(
        [str(BIN / "mltrain"), "sweeper", "--interval", "0.5", "--resend-after", "5"],
        stack.env,
        tmp_path / "sweeper.log",
    )
    try:
        yield stack
    finally:
        stop(sweeper)
        stop(stack.worker)
        stop(stack.api)


def _epoch(stack: Stack, job_id: str) -> tuple[str, int, int]:
    with session_scope(stack.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.status, job.epoch or 0, job.attempt


def test_sigkill_the_worker_repeatedly_and_the_job_resumes_to_the_end(fragile_stack: Stack) -> None:
    stack = fragile_stack
    params = {
        "epochs": EPOCHS,
        "synthetic_samples": 4096,  # ~1 s per epoch: time to observe each epoch and kill inside the next
        "batch_size": 16,
        "checkpoint_every": 1,
        "early_stopping_patience": 0,
    }
    with stack.client() as client:
        job_id = client.post(
            "/jobs", json={"type": "train", "model": "melody_transformer", "synthetic": True, "params": params}
        ).json()["id"]
    kills, last_epoch_at_kill = 0, -1
    deadline = time.monotonic() + 240
    while kills < KILLS and time.monotonic() < deadline:
        status, epoch, attempt = _epoch(stack, job_id)
        assert status not in ("failed", "succeeded"), f"{status} after {kills} kills: {stack.worker_log()[-3000:]}"
        if status == "running" and attempt == kills + 1 and epoch >= 1 and epoch > last_epoch_at_kill:
            os.killpg(stack.worker.pid, signal.SIGKILL)  # mid-epoch: no warm shutdown, no ack
            stack.worker.wait(timeout=10)
            kills += 1
            last_epoch_at_kill = epoch
            stack.start_worker()
        time.sleep(0.1)
    assert kills == KILLS, f"only {kills} kills happened"
    done = stack.wait_for(job_id, timeout=180)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempt"] == KILLS + 1
    assert done["result"]["models"]["melody_transformer"]["epochs_run"] == EPOCHS
    with session_scope(stack.database_url) as session:
        epochs = session.scalars(
            select(JobMetric.epoch).where(JobMetric.job_id == job_id).order_by(JobMetric.epoch)
        ).all()
    assert list(epochs) == list(range(1, EPOCHS + 1))  # each epoch once: no duplicates, none missing
    # Each attempt after the first resumed from a checkpoint instead of starting over.
    assert stack.worker_log().count("resuming after epoch") >= KILLS - 1


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in found.stdout.split()]


def test_sigkill_the_prefork_pool_child_and_the_job_still_finishes(fragile_stack: Stack) -> None:
    stack = fragile_stack
    stop(stack.worker)
    stack.start_worker(pool="prefork")
    params = {
        "epochs": 10,
        "synthetic_samples": 4096,
        "batch_size": 16,
        "checkpoint_every": 1,
        "early_stopping_patience": 0,
    }
    with stack.client() as client:
        job_id = client.post(
            "/jobs", json={"type": "train", "model": "melody_transformer", "synthetic": True, "params": params}
        ).json()["id"]
    kills, deadline = 0, time.monotonic() + 120
    while kills < 2 and time.monotonic() < deadline:
        status, epoch, attempt = _epoch(stack, job_id)
        assert status not in ("failed", "succeeded"), stack.worker_log()[-3000:]
        children = _children(stack.worker.pid)
        if status == "running" and attempt == kills + 1 and epoch >= 1 and children:
            for child in children:  # the pool child running the task; the worker's main process survives
                os.kill(child, signal.SIGKILL)
            kills += 1
        time.sleep(0.1)
    assert kills == 2
    done = stack.wait_for(job_id, timeout=180)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempt"] == 3 and stack.worker.poll() is None  # same main process throughout
    with session_scope(stack.database_url) as session:
        epochs = session.scalars(
            select(JobMetric.epoch).where(JobMetric.job_id == job_id).order_by(JobMetric.epoch)
        ).all()
    assert list(epochs) == list(range(1, 11))
