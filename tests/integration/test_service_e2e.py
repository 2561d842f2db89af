"""End to end over HTTP with a real Celery worker process, on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import Job, JobMetric, session_scope
from ml.export import load_rtneural, reference_forward
from ml.models import MODEL_KEYS
from tests.integration.conftest import BIN, Stack
from worker.celery_app import send_job

pytestmark = pytest.mark.slow
TINY = {"epochs": 3, "synthetic_samples": 128, "batch_size": 32}


def test_train_all_then_download_models_that_pass_the_rtneural_check(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with stack.client() as client:
        job = client.post("/jobs", json={"type": "train", "model": "all", "synthetic": True, "params": TINY}).json()
        done = stack.wait_for(job["id"])
        assert done["status"] == "succeeded", done["error"]
        assert done["attempt"] == 1 and done["progress"]["fraction"] == 1.0
        artifacts = {a["name"]: a for a in client.get(f"/jobs/{job['id']}/artifacts").json()}
        for key in MODEL_KEYS:
            assert artifacts[f"{key}.json"]["kind"] == "model_json"
            doc = load_rtneural(client.get(f"/jobs/{job['id']}/artifacts/{key}.json").text)
            outputs = reference_forward(doc, [[0.1] * doc["in_shape"][-1]])
            assert outputs.shape == (1, doc["layers"][-1]["shape"][-1])
            assert done["result"]["models"][key]["export_max_abs_error"] < 1e-5
            figures = client.get(f"/jobs/{job['id']}").json()["result"]["models"][key]["evaluation"]
            assert figures["test_samples"] > 0 and set(figures["baseline_losses"]) and figures["verdict"]
            assert figures["skill"] == pytest.approx(
                1 - figures["test_loss"] / min(figures["baseline_losses"].values())
            )
        assert {"metrics.json", "loss_curve.png", "evaluation.json", "export_report.json"} <= set(artifacts)
        metrics = client.get(f"/jobs/{job['id']}/metrics").json()
        pairs = [(m["model"], m["epoch"]) for m in metrics]
        assert len(pairs) == len(set(pairs)) == 5 * 3  # every epoch of every model once, no duplicates

        # The service keeps serving after a job that fails: evaluate a job whose models are gone.
        shutil.rmtree(stack.object_dir / "jobs" / job["id"])
        bad = client.post(
            "/jobs", json={"type": "evaluate", "model": "all", "synthetic": True, "source_job_id": job["id"]}
        ).json()
    failed = stack.wait_for(bad["id"])
    assert failed["status"] == "failed" and "gone from the object store" in failed["error"]
    with stack.client() as client:
        again = client.post(
            "/jobs", json={"type": "train", "model": "groove_predictor", "synthetic": True, "params": TINY}
        ).json()
    assert stack.wait_for(again["id"])["status"] == "succeeded"


def test_a_job_delivered_twice_runs_once(stack: Stack) -> None:
    with stack.client() as client:
        job = client.post(
            "/jobs", json={"type": "train", "model": "dynamics_engine", "synthetic": True, "params": TINY}
        ).json()
    send_job(job["id"], "cpu", broker_url=stack.env["MLTRAIN_BROKER_URL"])
    assert stack.wait_for(job["id"])["status"] == "succeeded"
    time.sleep(1.0)  # let the duplicate message be consumed
    with session_scope(stack.database_url) as session:
        row = session.get(Job, job["id"])
        assert row is not None and row.attempt == 1
        count = session.scalar(select(func.count()).where(JobMetric.job_id == job["id"]))
    assert count == 3
    assert "duplicate delivery ignored" in stack.worker_log()


def test_cancel_during_training_keeps_the_last_checkpoint(stack: Stack) -> None:
    params = {
        "epochs": 2000,
        "synthetic_samples": 256,
        "batch_size": 16,
        "checkpoint_every": 1,
        "early_stopping_patience": 0,
    }
    with stack.client() as client:
        job = client.post(
            "/jobs", json={"type": "train", "model": "melody_transformer", "synthetic": True, "params": params}
        ).json()
        deadline = time.monotonic() + 120
        while client.get(f"/jobs/{job['id']}").json()["progress"]["epoch"] in (None, 0):
            assert time.monotonic() < deadline, stack.worker_log()[-3000:]
            time.sleep(0.2)
        assert client.post(f"/jobs/{job['id']}/cancel").status_code == 202
        cancelled_at = time.monotonic()
        done = stack.wait_for(job["id"], timeout=60)
        assert done["status"] == "cancelled"
        assert time.monotonic() - cancelled_at < 15
        names = {a["name"] for a in client.get(f"/jobs/{job['id']}/artifacts").json()}
    assert "melody_transformer.last.pt" in names


def test_client_cli_submit_wait_download(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**stack.env, "MLTRAIN_URL": stack.base_url, "MLTRAIN_TOKEN": stack.token}
    mltrain = str(BIN / "mltrain")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([mltrain, *args], env=env, capture_output=True, text=True, timeout=240)

    submitted = run(
        "submit", "--model", "groove_predictor", "--synthetic", "--epochs", "2", "--param", "synthetic_samples=64"
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    waited = run("wait", job_id)
    # the status, then each model's test evaluation beside its baselines
    first, *evaluation = waited.stdout.strip().splitlines()
    assert waited.returncode == 0 and first == "succeeded", waited.stderr
    assert [line.split(":")[0].strip() for line in evaluation] == ["groove_predictor"]
    assert "test loss" in evaluation[0] and "baselines:" in evaluation[0]
    downloaded = run("download", job_id, "groove_predictor.json", "--output", str(tmp_path))
    assert downloaded.returncode == 0
    load_rtneural(tmp_path / "groove_predictor.json")
    refused = subprocess.run(
        [mltrain, "status", job_id],
        env={**env, "MLTRAIN_TOKEN": "mlt_wrong"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert refused.stderr.strip() == "mltrain status: error: HTTP 401: invalid or revoked token"


def test_a_large_folder_registers_at_once_and_validates_in_the_worker(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.midi_sets import write_melody

    folder = Path(stack.env["MLTRAIN_DATASET_ROOTS"]) / "lakh-like"
    template = write_melody(tmp_path / "t.mid", bars=2).read_bytes()
    for index in range(3000):
        target = folder / f"{index % 16:x}" / f"{index:05d}.mid"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(template if index % 1000 else b"MThd cut short")
    with stack.client() as client:
        started = time.monotonic()
        response = client.post("/datasets", json={"name": "many", "path": str(folder)})
        answered = time.monotonic() - started
        assert response.status_code == 202, response.text
        dataset = response.json()
        assert dataset["status"] == "validating" and dataset["report"] is None
        seen: list[int] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            dataset = client.get(f"/datasets/{dataset['id']}").json()
            seen.append(dataset["validation"]["files_seen"])
            if dataset["status"] != "validating":
                break
            time.sleep(0.2)
        assert dataset["status"] == "ready", (dataset, stack.worker_log()[-3000:])
        assert (dataset["usable"], dataset["report"]["files_found"], len(dataset["report"]["skipped"])) == (
            2997,
            3000,
            3,
        )
        assert seen == sorted(seen) and dataset["validation"]["files_seen"] == 3000
        scan = client.get(f"/jobs/{dataset['validation']['job_id']}").json()
        assert scan["type"] == "validate" and scan["queue"] == "data" and scan["status"] == "succeeded"
        job = client.post(
            "/jobs",
            json={"type": "train", "model": "dynamics_engine", "dataset_id": dataset["id"], "params": {"epochs": 1}},
        )
        assert job.status_code == 202, job.text
    # Not a timing assert on the server: a generous bound that only a scan inside the request would break.
    assert answered < 5.0
