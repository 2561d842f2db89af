"""The service on an S3 object store (moto's server on loopback): nothing shared on disk between API and workers.

Upload a data set, train on it, download artifacts and the bundle through the API; then SIGKILL a worker
mid-training and let a second worker with a fresh work folder resume the job from the checkpoint in the bucket.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import select

from app.db import Job, JobMetric, session_scope
from tests.fixtures.midi_sets import groove_midi
from tests.integration.conftest import BIN, Stack, _spawn, free_port, start_stack, stop

pytestmark = pytest.mark.integration
LEASE = 3.0
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-protocol server in this process, on a free loopback port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> Any:
    """A fresh bucket on the server (a boto3 Bucket resource)."""
    s3 = boto3.resource("s3", endpoint_url=s3_endpoint, **_credentials())
    created = s3.create_bucket(Bucket=f"mltrain-{uuid.uuid4().hex[:8]}")
    return created


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


@pytest.fixture
def stack(tmp_path: Path, s3_endpoint: str, bucket: Any) -> Iterator[Stack]:
    """API + worker (work folder work-a) + sweeper on SQLite, every file of a job in the bucket."""
    running = start_stack(
        tmp_path,
        f"sqlite:///{tmp_path / 'mltrain.db'}",
        f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        MLTRAIN_OBJECT_URL=f"s3://{bucket.name}/objects",
        MLTRAIN_S3_ENDPOINT_URL=s3_endpoint,
        MLTRAIN_WORK_DIR=str(tmp_path / "work-a"),
        MLTRAIN_LEASE_SECONDS=str(LEASE),
        MLTRAIN_MAX_ATTEMPTS="5",
        **CREDENTIALS,
    )
    sweeper = _spawn([str(BIN / "mltrain"), "sweeper"], running.env, tmp_path / "sweeper.log")
    try:
        yield running
    finally:
        stop(sweeper)
        stop(running.worker)
        stop(running.api)


def _keys(bucket: Any, prefix: str) -> set[str]:
    return {item.key.removeprefix(prefix) for item in bucket.objects.filter(Prefix=prefix)}


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


def _wait_ready(stack: Stack, dataset_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    with stack.client() as client:
        while time.monotonic() < deadline:
            body = dict(client.get(f"/datasets/{dataset_id}").json())
            if body["status"] != "validating":
                return body
            time.sleep(0.2)
    pytest.fail(f"data set {dataset_id} never validated: {stack.worker_log()[-3000:]}")


def test_upload_train_and_download_through_the_bucket(stack: Stack, bucket: Any, tmp_path: Path) -> None:
    archive = _zip(groove_midi(tmp_path / "source") / "groove")
    with stack.client() as client:
        response = client.post("/datasets/upload", files={"file": ("groove.zip", archive)}, data={"name": "g"})
        assert response.status_code == 202, response.text
        dataset_id = response.json()["id"]
        assert response.json()["path"].startswith(f"s3://{bucket.name}/objects/datasets/{dataset_id}/")
        assert "groove/info.csv" in _keys(bucket, f"objects/datasets/{dataset_id}/")
        assert not (stack.object_dir / "datasets" / dataset_id).exists()  # the API keeps no copy
        ready = _wait_ready(stack, dataset_id)
        assert ready["status"] == "ready" and ready["usable"] >= 4, ready

        body = {"type": "train", "model": "groove_predictor", "dataset_id": dataset_id, "params": {"epochs": 2}}
        job_id = client.post("/jobs", json=body).json()["id"]
        done = stack.wait_for(job_id)
        assert done["status"] == "succeeded", done["error"]
        listed = {a["name"]: a for a in client.get(f"/jobs/{job_id}/artifacts").json()}
        assert {"groove_predictor.json", "groove_predictor.last.pt", "metrics.json"} <= set(listed)
        assert set(listed) <= _keys(bucket, f"objects/jobs/{job_id}/")
        for name in ("groove_predictor.json", "groove_predictor.last.pt"):
            download = client.get(f"/jobs/{job_id}/artifacts/{name}")
            assert download.status_code == 200
            assert hashlib.sha256(download.content).hexdigest() == listed[name]["sha256"]
            assert download.headers["content-length"] == str(listed[name]["size"])
            assert download.headers["content-disposition"] == f'attachment; filename="{name}"'
        bundle = client.get(f"/jobs/{job_id}/bundle")
        assert bundle.status_code == 200, bundle.text
        assert "manifest.json" in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
        assert client.get(f"/jobs/{job_id}/bundle").content == bundle.content  # built once, same bytes
        # A file recorded but gone from the bucket is a 404, not a 500.
        bucket.Object(f"objects/jobs/{job_id}/metrics.json").delete()
        assert client.get(f"/jobs/{job_id}/artifacts/metrics.json").status_code == 404

        assert client.delete(f"/datasets/{dataset_id}").status_code == 204
        assert _keys(bucket, f"objects/datasets/{dataset_id}/") == set()
    assert not (stack.object_dir / "jobs").exists()  # no job file ever lived in the API's folder


def _job(stack: Stack, job_id: str) -> Job:
    with session_scope(stack.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_job_resumes_on_a_second_worker_with_a_fresh_disk(stack: Stack, bucket: Any, tmp_path: Path) -> None:
    epochs = 20
    params = {"synthetic_samples": 512, "batch_size": 16, "checkpoint_every": 1, "epochs": epochs}
    params["early_stopping_patience"] = 0
    with stack.client() as client:
        body = {"type": "train", "model": "dynamics_engine", "synthetic": True, "params": params}
        job_id = client.post("/jobs", json=body).json()["id"]
    deadline = time.monotonic() + 60
    while (job := _job(stack, job_id)).status != "running" or (job.epoch or 0) < 3:
        assert time.monotonic() < deadline, stack.worker_log()[-3000:]
        time.sleep(0.05)
    os.killpg(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait(timeout=10)
    assert "dynamics_engine.last.pt" in _keys(bucket, f"objects/jobs/{job_id}/")  # pushed after a checkpoint

    fresh = tmp_path / "work-b"
    assert not fresh.exists()
    env = {**stack.env, "MLTRAIN_WORK_DIR": str(fresh)}
    second = _spawn([str(BIN / "mltrain"), "worker", "--queues", "cpu"], env, tmp_path / "worker-b.log")
    try:
        done = stack.wait_for(job_id, timeout=90)
    finally:
        stop(second)
    log = (tmp_path / "worker-b.log").read_text()
    assert done["status"] == "succeeded" and done["attempt"] == 2, (done["error"], log[-3000:])
    assert "stored file(s) pulled" in log and "resuming after epoch" in log
    with session_scope(stack.database_url) as session:
        rows = session.scalars(select(JobMetric.epoch).where(JobMetric.job_id == job_id).order_by(JobMetric.epoch))
        assert list(rows) == list(range(1, epochs + 1))  # every epoch exactly once
    assert (fresh / "jobs" / job_id / "dynamics_engine.json").is_file()
    assert "dynamics_engine.json" in _keys(bucket, f"objects/jobs/{job_id}/")
