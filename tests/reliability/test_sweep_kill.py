"""A worker killed in the middle of a sweep: its batch is re-delivered and every trial of it resumes once from its
own checkpoint with the same params; the sweep still runs each grid point once and succeeds."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Job, JobMetric, session_scope
from tests.integration.conftest import BIN, Stack, _spawn, start_stack, stop

pytestmark = [pytest.mark.slow, pytest.mark.integration]
LEASE = 3.0
EPOCHS = 8
PARAMS = {"epochs": EPOCHS, "synthetic_samples": 512, "batch_size": 16, "checkpoint_every": 1,
          "early_stopping_patience": 0}  # fmt: skip
SPACE = {"lr": {"grid": [0.001, 0.003]}, "weight_decay": {"grid": [0.0, 0.1]}}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(
        tmp_path,
        f"sqlite:///{tmp_path / 'mltrain.db'}",
        f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        MLTRAIN_LEASE_SECONDS=str(LEASE),
        MLTRAIN_MAX_ATTEMPTS="5",
    )
    sweeper = _spawn([str(BIN / "mltrain"), "sweeper"], running.env, tmp_path / "sweeper.log")
    try:
        yield running
    finally:
        stop(sweeper)
        stop(running.worker)
        stop(running.api)


def _running_batch(stack: Stack, sweep_id: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(stack.database_url) as session:
            job = session.scalar(select(Job).where(Job.sweep_id == sweep_id, Job.status == "running"))
            if job is not None and (job.epoch or 0) >= 2:
                return job
        time.sleep(0.05)
    pytest.fail(f"no batch of sweep {sweep_id} got to epoch 2: {stack.worker_log()[-3000:]}")


def test_killing_the_worker_mid_sweep_resumes_every_trial_of_its_batch_once(stack: Stack) -> None:
    body = {"model": "melody_transformer", "synthetic": True, "params": PARAMS, "space": SPACE, "strategy": "grid",
            "batch_size": 2, "pruner": "none"}  # fmt: skip
    with stack.client() as client:
        sweep_id = client.post("/sweeps", json=body).json()["id"]
    job = _running_batch(stack, sweep_id)
    os.killpg(int(str(job.lease_owner).rsplit(":", 1)[1]), signal.SIGKILL)
    stack.worker.wait(timeout=10)
    stack.start_worker()
    deadline = time.monotonic() + 150
    with stack.client() as client:
        while (sweep := client.get(f"/sweeps/{sweep_id}").json())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, stack.worker_log()[-3000:]
            time.sleep(0.5)
    assert sweep["status"] == "succeeded", sweep["error"]
    trials = sweep["trials"]
    assert len({json.dumps(t["params"], sort_keys=True) for t in trials}) == 4  # each grid point once
    assert {(t["status"], t["epochs"]) for t in trials} == {("complete", EPOCHS)}
    killed = next(b for b in sweep["batches"] if b["job_id"] == job.id)
    assert killed["attempt"] == 2 and killed["status"] == "succeeded"
    resumed = re.findall(r"trial (\d+) resumes after epoch", stack.worker_log())
    assert sorted(map(int, resumed)) == sorted(killed["trials"])  # every trial of the killed batch, once
    with session_scope(stack.database_url) as session:
        rows = session.execute(select(JobMetric.model, JobMetric.epoch).where(JobMetric.job_id == job.id)).all()
    for number in killed["trials"]:
        assert sorted(e for m, e in rows if m == f"trial-{number:04d}") == list(range(1, EPOCHS + 1))
