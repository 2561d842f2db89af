"""A sweep end to end with a real worker process: the CLI submits it, waits for it and downloads its bundle."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import BIN, Stack

pytestmark = pytest.mark.slow
TINY = {"epochs": 2, "synthetic_samples": 64, "batch_size": 16}


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**stack.env, "MLTRAIN_URL": stack.base_url, "MLTRAIN_TOKEN": stack.token}
    return subprocess.run([str(BIN / "mltrain"), *args], env=env, capture_output=True, text=True, timeout=180)


def test_submit_sweep_wait_and_download_the_best_trials_bundle(stack: Stack, tmp_path: Path) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"lr": {"grid": [0.001, 0.01]}, "weight_decay": {"grid": [0.0, 0.1]}}))
    params = [f"--param={name}={json.dumps(value)}" for name, value in TINY.items()]
    submitted = _cli(stack, "submit-sweep", "--model", "groove_predictor", "--synthetic", "--space", str(space),
                     "--strategy", "grid", "--trials", "4", "--batch-size", "2", *params)  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    sweep_id = submitted.stdout.strip()
    waited = _cli(stack, "sweep-status", sweep_id, "--wait")
    assert waited.returncode == 0, waited.stdout + waited.stderr + stack.worker_log()[-3000:]
    lines = waited.stdout.splitlines()
    assert lines[0].startswith(f"{sweep_id} succeeded 4/4 trials (grid)")
    assert sum(" complete " in line for line in lines) == 4 and lines[-1].startswith("best trial ")
    with stack.client() as client:
        sweep = client.get(f"/sweeps/{sweep_id}").json()
    assert [b["status"] for b in sweep["batches"]] == ["succeeded", "succeeded"]
    bundle = tmp_path / "best.zip"
    downloaded = _cli(stack, "bundle", "--job", sweep["best_job_id"], "--output", str(bundle))
    assert downloaded.returncode == 0, downloaded.stderr
    assert "models/groove_predictor.json" in zipfile.ZipFile(bundle).namelist()
