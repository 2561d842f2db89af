"""GET /jobs/{id}/bundle: the zip for a succeeded job with exports, 409 otherwise, 404 for another owner's job."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from app.db import Job, session_scope, utcnow
from tests.app.conftest import Api

JOB = {"type": "train", "model": "groove_predictor", "synthetic": True, "params": {"epochs": 1}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real training folder with one small model."""
    import torch

    from ml.config import TrainConfig
    from ml.pipeline import DataSource, run_training

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("run")
    run_training("groove_predictor", DataSource(synthetic=True), TrainConfig(epochs=1, synthetic_samples=64), folder)
    return folder


def _finish(api: Api, job_id: str, status: str, files: Path | None, error: str | None = None) -> None:
    """Simulate the worker: the job's files in its object folder, then its final status."""
    if files is not None:
        shutil.copytree(files, api.settings.object_dir / "jobs" / job_id, dirs_exist_ok=True)
    with session_scope(api.settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.error, job.finished_at = status, error, utcnow()


def test_bundle_of_a_succeeded_job(api: Api, trained: Path) -> None:
    alice = api.token("alice")
    job_id = api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"]
    _finish(api, job_id, "succeeded", trained)
    response = api.client.get(f"/api/v1/jobs/{job_id}/bundle", headers=alice)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f'attachment; filename="plugin-models-{job_id[:8]}.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert "models/groove_predictor.modelt.h" in archive.namelist()
    assert manifest["job"]["id"] == job_id and manifest["job"]["status"] == "succeeded"
    assert manifest["dataset"] == {"synthetic": True} and list(manifest["models"]) == ["groove_predictor"]
    again = api.client.get(f"/api/v1/jobs/{job_id}/bundle", headers=alice)
    assert again.content == response.content  # served from the job folder's cache, identical
    assert (api.settings.object_dir / "jobs" / job_id / "plugin-models.zip").is_file()
    assert api.client.get(f"/api/v1/jobs/{job_id}/bundle", headers=api.token("bob")).status_code == 404


@pytest.mark.parametrize(
    ("status", "with_files", "reason"),
    [
        ("failed", True, "failed, so it has no bundle: boom"),
        ("cancelled", True, "was cancelled"),
        ("queued", False, "is queued"),
        ("succeeded", False, "has no exported models"),
    ],
)
def test_no_bundle_is_a_409_with_the_reason(
    api: Api, trained: Path, status: str, with_files: bool, reason: str
) -> None:
    alice = api.token("alice")
    job_id = api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"]
    if status != "queued":
        _finish(api, job_id, status, trained if with_files else None, error="boom")
    response = api.client.get(f"/api/v1/jobs/{job_id}/bundle", headers=alice)
    assert response.status_code == 409 and reason in response.json()["detail"]


def test_new_artifact_kinds() -> None:
    from app.objects import artifact_kind, content_type

    assert artifact_kind("groove_predictor.io.json") == "golden_vectors"
    assert artifact_kind("groove_predictor.modelt.h") == "cpp_header"
    assert artifact_kind("groove_predictor.json") == "model_json"
    assert artifact_kind("plugin-models.zip") == "bundle"
    assert content_type("groove_predictor.modelt.h") == "text/x-c++hdr; charset=utf-8"
    assert content_type("plugin-models.zip") == "application/zip"
