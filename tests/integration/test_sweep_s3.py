"""A sweep on an S3 object store (moto's server) shared by two workers with their own work folders: nothing of the
sweep lives on a shared disk (its Optuna journal is in the database, its trials in the bucket), and every grid
point runs once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Job, session_scope
from tests.integration.conftest import BIN, Stack, _spawn, start_stack, stop
from tests.integration.test_object_store import CREDENTIALS, _keys, bucket, s3_endpoint  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
MODEL = "groove_predictor"
PARAMS = {"epochs": 3, "synthetic_samples": 256, "batch_size": 16, "checkpoint_every": 1,
          "early_stopping_patience": 0}  # fmt: skip
SPACE = {"lr": {"grid": [0.001, 0.003]}, "weight_decay": {"grid": [0.0, 0.1]}}


def _wait_for_log(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    pytest.fail(f"{path.name} never printed {text!r}: {path.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def two_workers(tmp_path: Path, s3_endpoint: str, bucket: Any) -> Iterator[Stack]:  # noqa: F811 (fixtures)
    """API + worker A (work-a) + worker B (work-b) + sweeper on SQLite, every file in the bucket."""
    running = start_stack(
        tmp_path,
        f"sqlite:///{tmp_path / 'mltrain.db'}",
        f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        MLTRAIN_OBJECT_URL=f"s3://{bucket.name}/objects",
        MLTRAIN_S3_ENDPOINT_URL=s3_endpoint,
        MLTRAIN_WORK_DIR=str(tmp_path / "work-a"),
        **CREDENTIALS,
    )
    env = {**running.env, "MLTRAIN_WORK_DIR": str(tmp_path / "work-b")}
    second = _spawn([str(BIN / "mltrain"), "worker", "--queues", "cpu"], env, tmp_path / "worker-b.log")
    sweeper = _spawn([str(BIN / "mltrain"), "sweeper"], running.env, tmp_path / "sweeper.log")
    try:
        for log in ("worker.log", "worker-b.log"):  # both listening before the batches are sent
            _wait_for_log(tmp_path / log, "ready.")
        yield running
    finally:
        stop(sweeper)
        stop(second)
        stop(running.worker)
        stop(running.api)


def test_two_workers_with_their_own_disks_share_one_grid_sweep(
    two_workers: Stack,
    bucket: Any,  # noqa: F811 (fixture)
    tmp_path: Path,
) -> None:
    stack = two_workers
    body = {"model": MODEL, "synthetic": True, "params": PARAMS, "space": SPACE, "strategy": "grid",
            "batch_size": 1, "pruner": "none"}  # fmt: skip
    with stack.client() as client:
        created = client.post("/sweeps", json=body)
        assert created.status_code == 202, created.text
        sweep_id = created.json()["id"]
        deadline = time.monotonic() + 90
        while (sweep := client.get(f"/sweeps/{sweep_id}").json())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, stack.worker_log()[-3000:]
            time.sleep(0.3)
    logs = stack.worker_log() + (tmp_path / "worker-b.log").read_text(errors="replace")
    assert sweep["status"] == "succeeded", (sweep["error"], logs[-4000:])
    trials = sweep["trials"]
    assert len(trials) == 4 and len({json.dumps(t["params"], sort_keys=True) for t in trials}) == 4  # each once
    assert {(t["status"], t["epochs"]) for t in trials} == {("complete", 3)}
    with session_scope(stack.database_url) as session:
        owners = session.scalars(select(Job.lease_owner).where(Job.sweep_id == sweep_id, Job.type == "sweep")).all()
    assert len(set(owners)) == 2, owners  # both workers ran batches of the sweep
    for t in trials:  # every trial's checkpoints reached the bucket
        assert f"{MODEL}.last.pt" in _keys(bucket, f"objects/sweeps/{sweep_id}/trials/{t['number']:04d}/")
    best = stack.wait_for(sweep["best_job_id"])
    assert best["status"] == "succeeded" and best["result"]["models"][MODEL]["epochs_run"] == 3
    assert f"{MODEL}.json" in _keys(bucket, f"objects/jobs/{sweep['best_job_id']}/")
    assert not (stack.object_dir / "sweeps").exists()  # nothing of the sweep on the API's disk
