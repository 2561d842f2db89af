"""Artifacts via the service, SSE progress, enqueue failure, job limits, JSON errors, readiness, SQLite writers."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.api.deps import get_enqueuer
from app.db import Job, session_scope, utcnow
from app.main import create_app
from app.migrate import upgrade
from app.services.artifacts import record_artifact
from app.services.jobs import jobs_to_resend
from app.storage import store_for
from tests.app.conftest import Api, make_settings

JOB = {"type": "train", "model": "groove_predictor", "synthetic": True, "params": {"epochs": 3}}


def _submit(api: Api, headers: dict[str, str], **changes: object) -> dict:
    response = api.client.post("/api/v1/jobs", json={**JOB, **changes}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.mark.parametrize(
    ("name", "content", "content_type", "kind"),
    [
        ("groove_predictor.json", b'{"layers": []}', "application/json", "model_json"),
        ("loss_curve.png", b"\x89PNG\r\n\x1a\n0000", "image/png", "plot"),
        ("groove_predictor.best.pt", b"\x80\x02checkpoint", "application/octet-stream", "checkpoint"),
    ],
)
def test_artifact_list_and_download(api: Api, name: str, content: bytes, content_type: str, kind: str) -> None:
    alice = api.token("alice")
    job_id = _submit(api, alice)["id"]
    with session_scope(api.settings.database_url) as session:
        record_artifact(session, store=store_for(api.settings), job_id=job_id, name=name, source=content)
    (listed,) = api.client.get(f"/api/v1/jobs/{job_id}/artifacts", headers=alice).json()
    assert listed["name"] == name and listed["kind"] == kind and listed["content_type"] == content_type
    assert listed["size"] == len(content) and listed["sha256"] == hashlib.sha256(content).hexdigest()
    response = api.client.get(f"/api/v1/jobs/{job_id}/artifacts/{name}", headers=alice)
    assert response.status_code == 200 and response.content == content
    assert response.headers["content-type"].split(";")[0] == content_type
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    for probe in ("metrics.json", "..%2Fmltrain.db", "%2Fetc%2Fpasswd"):
        missing = api.client.get(f"/api/v1/jobs/{job_id}/artifacts/{probe}", headers=alice)
        assert missing.status_code == 404 and "detail" in missing.json()
    assert api.client.get(f"/api/v1/jobs/{job_id}/artifacts/{name}", headers=api.token("bob")).status_code == 404


def test_events_stream_progress_then_ends(api: Api) -> None:
    alice = api.token("alice")
    job_id = _submit(api, alice)["id"]

    def worker() -> None:  # what the worker does to the row, through plain updates
        steps: list[dict[str, object]] = [
            {"status": "running", "attempt": 1, "started_at": utcnow(), "total_epochs": 3},
            {"epoch": 1, "progress": 1 / 3, "current_model": "groove_predictor", "latest_metrics": {"loss": 0.5}},
            {"epoch": 2, "progress": 2 / 3, "eta_seconds": 1.0},
            {"status": "succeeded", "progress": 1.0, "finished_at": utcnow()},
        ]
        for values in steps:
            time.sleep(0.2)
            with session_scope(api.settings.database_url) as session:
                session.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow(), **values))

    thread = threading.Thread(target=worker)
    thread.start()
    with api.client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=alice) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    thread.join()
    events = [b for b in body.split("\n\n") if b.strip() and not b.startswith(":")]
    kinds = [e.split("\n", 1)[0].removeprefix("event: ") for e in events]
    payloads = [json.loads(e.split("data: ", 1)[1]) for e in events]
    assert kinds[0] == "status" and payloads[0]["status"] == "queued"
    assert "progress" in kinds and payloads[-1]["status"] == "succeeded" and kinds[-1] == "status"
    assert any(p["progress"]["epoch"] == 2 and p["progress"]["eta_seconds"] == 1.0 for p in payloads)


def test_events_of_another_owners_job_are_404(api: Api) -> None:
    job_id = _submit(api, api.token("alice"))["id"]
    assert api.client.get(f"/api/v1/jobs/{job_id}/events", headers=api.token("bob")).status_code == 404


def test_a_broker_failure_leaves_the_job_queued_for_the_sweeper(api: Api) -> None:
    def broken(job_id: str, queue: str) -> None:
        raise ConnectionError("broker down")

    api.client.app.dependency_overrides[get_enqueuer] = lambda: broken  # type: ignore[attr-defined]
    job = _submit(api, api.token("alice"), queue="gpu")
    assert job["status"] == "queued" and job["enqueued_at"] is None
    with session_scope(api.settings.database_url) as session:
        assert (job["id"], "gpu") in jobs_to_resend(session, older_than_seconds=-60)


def test_enqueued_jobs_record_when(api: Api) -> None:
    job = _submit(api, api.token("alice"))
    assert job["enqueued_at"] is not None and api.enqueued == [(job["id"], "cpu")]


def test_server_limits_on_epochs_and_active_jobs(api: Api) -> None:
    alice = api.token("alice")
    too_long = api.client.post("/api/v1/jobs", json={**JOB, "params": {"epochs": 501}}, headers=alice)
    assert too_long.status_code == 422 and "MLTRAIN_MAX_EPOCHS" in too_long.json()["detail"]
    for _ in range(api.settings.max_active_jobs_per_owner):
        _submit(api, alice)
    refused = api.client.post("/api/v1/jobs", json=JOB, headers=alice)
    assert refused.status_code == 429 and "MLTRAIN_MAX_ACTIVE_JOBS_PER_OWNER" in refused.json()["detail"]
    assert _submit(api, api.token("bob"))["status"] == "queued"  # the limit is per owner


def test_filters_by_type_and_model(api: Api) -> None:
    alice = api.token("alice")
    _submit(api, alice)
    _submit(api, alice, model="all")
    by_model = api.client.get("/api/v1/jobs", params={"model": "all"}, headers=alice).json()
    assert by_model["count"] == 1 and by_model["data"][0]["model"] == "all"
    assert api.client.get("/api/v1/jobs", params={"type": "evaluate"}, headers=alice).json()["count"] == 0
    assert api.client.get("/api/v1/jobs", params={"status": "bogus"}, headers=alice).status_code == 422


def test_unknown_job_and_routes_answer_json(api: Api) -> None:
    alice = api.token("alice")
    missing = api.client.get("/api/v1/jobs/" + "0" * 32, headers=alice)
    assert missing.status_code == 404 and missing.json() == {"detail": f"no job {'0' * 32}"}
    assert api.client.get("/api/v1/nothing-here", headers=alice).json() == {"detail": "Not Found"}
    wrong_type = api.client.post(
        "/api/v1/jobs", content=b"[1, 2]", headers={**alice, "Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 422 and isinstance(wrong_type.json()["detail"], str)


def test_unexpected_errors_are_json_500(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(settings.database_url)
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert "secret" not in response.text and "detail" in response.json()


def test_readyz_reports_database_and_broker(api: Api) -> None:
    response = api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_concurrent_sqlite_writers_do_not_deadlock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    upgrade(url)
    settings = make_settings(tmp_path, url)
    app = create_app(settings)
    app.dependency_overrides[get_enqueuer] = lambda: lambda job_id, queue: None
    errors: list[BaseException] = []
    with TestClient(app) as client:
        headers = Api(client=client, settings=settings).token("alice")

        def submit_and_read() -> None:
            try:
                for _ in range(4):
                    job = client.post("/api/v1/jobs", json=JOB, headers=headers)
                    assert job.status_code == 202, job.text
                    assert client.get(f"/api/v1/jobs/{job.json()['id']}", headers=headers).status_code == 200
                    assert client.post(f"/api/v1/jobs/{job.json()['id']}/cancel", headers=headers).status_code == 202
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=submit_and_read) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert client.get("/api/v1/jobs", headers=headers).json()["count"] == 24
