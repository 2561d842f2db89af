from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.db import Artifact, Job, session_scope, utcnow
from app.migrate import check
from tests.app.conftest import Api

JOB = {"type": "train", "model": "all", "synthetic": True, "params": {"epochs": 2}}


def test_health_needs_no_token_but_the_api_does(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    response = api.client.get("/api/v1/jobs")
    assert response.status_code == 401 and "bearer token" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = api.client.get("/api/v1/jobs", headers={"Authorization": "Bearer mlt_nope"})
    assert bad.status_code == 401 and bad.json() == {"detail": "invalid or revoked token"}


def test_migrations_match_the_models(api: Api) -> None:
    check(api.settings.database_url)  # raises if autogenerate would emit anything


def test_revoked_token_is_refused(api: Api) -> None:
    from app.services.tokens import create_token, revoke_token

    with session_scope(api.settings.database_url) as session:
        token = create_token(session, name="temp", owner="temp")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/jobs", headers=headers).status_code == 200
    with session_scope(api.settings.database_url) as session:
        revoke_token(session, name="temp")
    assert api.client.get("/api/v1/jobs", headers=headers).status_code == 401


def test_submit_then_read_list_and_cancel(api: Api) -> None:
    alice = api.token("alice")
    response = api.client.post("/api/v1/jobs", json=JOB, headers=alice)
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued" and job["attempt"] == 0 and job["progress"]["fraction"] == 0
    assert api.enqueued == [(job["id"], "cpu")]
    assert api.client.get(f"/api/v1/jobs/{job['id']}", headers=alice).json()["id"] == job["id"]
    listed = api.client.get("/api/v1/jobs", params={"status": "queued", "limit": 1}, headers=alice).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == job["id"]
    assert api.client.get("/api/v1/jobs", params={"status": "failed"}, headers=alice).json()["count"] == 0
    cancelled = api.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = api.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)
    assert again.status_code == 409 and "already finished" in again.json()["detail"]


def test_cancel_of_a_running_job_sets_the_flag(api: Api) -> None:
    alice = api.token("alice")
    job_id = api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"]
    with session_scope(api.settings.database_url) as session:
        session.get(Job, job_id).status = "running"  # type: ignore[union-attr]
    response = api.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True


def test_pagination(api: Api) -> None:
    alice = api.token("alice")
    ids = [api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"] for _ in range(5)]
    first = api.client.get("/api/v1/jobs", params={"limit": 2}, headers=alice).json()
    second = api.client.get("/api/v1/jobs", params={"limit": 2, "offset": 2}, headers=alice).json()
    third = api.client.get("/api/v1/jobs", params={"limit": 2, "offset": 4}, headers=alice).json()
    seen = [j["id"] for page in (first, second, third) for j in page["data"]]
    assert first["count"] == 5 and sorted(seen) == sorted(ids) and len(third["data"]) == 1


def test_idempotency_key(api: Api) -> None:
    alice = api.token("alice")
    headers = {**alice, "Idempotency-Key": "run-42"}
    first = api.client.post("/api/v1/jobs", json=JOB, headers=headers)
    second = api.client.post("/api/v1/jobs", json=JOB, headers=headers)
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and len(api.enqueued) == 1
    other = api.client.post("/api/v1/jobs", json={**JOB, "model": "groove_predictor"}, headers=headers)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]
    # Keys are per owner: bob's "run-42" is his own job.
    bob = {**api.token("bob"), "Idempotency-Key": "run-42"}
    assert api.client.post("/api/v1/jobs", json=JOB, headers=bob).json()["id"] != first.json()["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**JOB, "model": "drum_machine"}, "model"),
        ({**JOB, "params": {"epochs": 10**9}}, "epochs"),
        ({**JOB, "params": {"lr": 0}}, "lr"),
        ({**JOB, "params": {"lr": "fast"}}, "lr"),
        ({**JOB, "params": {"epochz": 3}}, "epochz"),
        ({**JOB, "params": {"batch_size": 0}}, "batch_size"),
        ({**JOB, "synthetic": False}, "dataset_id or synthetic"),
        ({**JOB, "dataset_id": "abc"}, "dataset_id or synthetic"),
        ({**JOB, "owner": "mallory"}, "owner"),
        ({**JOB, "status": "succeeded"}, "status"),
        ({**JOB, "type": "evaluate"}, "source_job_id"),
        ({**JOB, "queue": "tpu"}, "queue"),
    ],
)
def test_bad_job_requests_are_422_naming_the_field(api: Api, body: dict, field: str) -> None:
    response = api.client.post("/api/v1/jobs", json=body, headers=api.token("alice"))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert api.enqueued == []


def test_malformed_json_is_a_422_not_a_500(api: Api) -> None:
    headers = {**api.token("alice"), "Content-Type": "application/json"}
    response = api.client.post("/api/v1/jobs", content=b"{not json", headers=headers)
    assert response.status_code == 422 and "detail" in response.json()


def test_owners_cannot_see_each_others_objects(api: Api) -> None:
    alice, bob = api.token("alice"), api.token("bob")
    job_id = api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"]
    for method, path in (
        ("GET", f"/api/v1/jobs/{job_id}"),
        ("GET", f"/api/v1/jobs/{job_id}/metrics"),
        ("GET", f"/api/v1/jobs/{job_id}/artifacts"),
        ("GET", f"/api/v1/jobs/{job_id}/artifacts/metrics.json"),
        ("POST", f"/api/v1/jobs/{job_id}/cancel"),
    ):
        assert api.client.request(method, path, headers=bob).status_code == 404
    assert api.client.get("/api/v1/jobs", headers=bob).json()["count"] == 0


def _audio_labels_folder(root: Path) -> Path:
    folder = root / "clips"
    folder.mkdir()
    sr = 22050
    t = np.arange(sr * 4) / sr
    lines = ["filename,valence,arousal"]
    for i in range(4):
        sf.write(folder / f"clip{i}.wav", 0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t), sr)
        lines.append(f"clip{i}.wav,{-0.5 + i / 3:.2f},{0.5 - i / 4:.2f}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def _midi_labels_folder(root: Path) -> Path:
    import pretty_midi

    folder = root / "melodies"
    folder.mkdir()
    labels = {}
    for i in range(3):
        midi = pretty_midi.PrettyMIDI(initial_tempo=120)
        piano = pretty_midi.Instrument(program=0)
        for n in range(32):
            piano.notes.append(
                pretty_midi.Note(velocity=80, pitch=60 + (n * (i + 2)) % 12, start=n * 0.5, end=n * 0.5 + 0.4)
            )
        midi.instruments.append(piano)
        midi.write(str(folder / f"song{i}.mid"))
        labels[f"song{i}.mid"] = {"valence": 0.5 - i * 0.4, "arousal": 0.2 * i}
    (folder / "emotion_labels.json").write_text(json.dumps(labels))
    return folder


def test_register_a_dataset_under_the_allowed_root(api: Api) -> None:
    alice = api.token("alice")
    root = api.settings.dataset_roots[0]
    folder = _midi_labels_folder(root)
    dataset = api.register(alice, name="melodies", path=str(folder))
    assert dataset["status"] == "ready" and dataset["format"] == "midi-labels" and dataset["usable"] == 3
    assert dataset["report"]["files_found"] >= 3
    assert api.client.get(f"/api/v1/datasets/{dataset['id']}", headers=api.token("bob")).status_code == 404
    listed = api.client.get("/api/v1/datasets", headers=alice).json()
    assert listed["count"] == 1
    job = api.client.post(
        "/api/v1/jobs", json={**JOB, "synthetic": False, "dataset_id": dataset["id"]}, headers=alice
    ).json()
    busy = api.client.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice)
    assert busy.status_code == 409 and job["id"] in busy.json()["detail"]
    api.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice)
    assert api.client.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice).status_code == 204
    assert folder.is_dir()  # the folder itself is never touched


@pytest.mark.parametrize("escape", ["outside", "dotdot", "symlink", "relative"])
def test_dataset_paths_outside_the_roots_are_refused(api: Api, tmp_path: Path, escape: str) -> None:
    root = api.settings.dataset_roots[0]
    outside = _midi_labels_folder(tmp_path)
    path = {
        "outside": str(outside),
        "dotdot": f"{root}/../melodies",
        "symlink": str(root / "link"),
        "relative": "melodies",
    }[escape]
    if escape == "symlink":
        (root / "link").symlink_to(outside)
    response = api.client.post("/api/v1/datasets", json={"name": "x", "path": path}, headers=api.token("alice"))
    assert response.status_code in (403, 422)
    assert "allowed data-set roots" in response.json()["detail"] or "absolute" in response.json()["detail"]


def test_artifact_download_headers(api: Api) -> None:
    alice = api.token("alice")
    job_id = api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"]
    folder = api.settings.object_dir / "jobs" / job_id
    folder.mkdir(parents=True)
    (folder / "groove_predictor.json").write_text('{"in_shape": [null, 64], "layers": []}')
    with session_scope(api.settings.database_url) as session:
        session.add(
            Artifact(
                job_id=job_id,
                name="groove_predictor.json",
                kind="model_json",
                size=38,
                sha256="0" * 64,
                path=f"jobs/{job_id}/groove_predictor.json",
                content_type="application/json",
                created_at=utcnow(),
            )
        )
    listed = api.client.get(f"/api/v1/jobs/{job_id}/artifacts", headers=alice).json()
    assert [a["name"] for a in listed] == ["groove_predictor.json"]
    response = api.client.get(f"/api/v1/jobs/{job_id}/artifacts/groove_predictor.json", headers=alice)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert 'attachment; filename="groove_predictor.json"' in response.headers["content-disposition"]
    assert api.client.get(f"/api/v1/jobs/{job_id}/artifacts/..%2F..%2Fmltrain.db", headers=alice).status_code == 404


def test_events_stream_ends_for_a_finished_job(api: Api) -> None:
    alice = api.token("alice")
    job_id = api.client.post("/api/v1/jobs", json=JOB, headers=alice).json()["id"]
    api.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)
    with api.client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=alice) as response:
        body = "".join(response.iter_text())
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in body.split("\n\n") if block.strip()]
    assert len(events) == 1 and events[0].startswith("event: status\ndata: ")  # already finished: one event, end
    assert json.loads(events[0].split("data: ", 1)[1])["status"] == "cancelled"


def _zip_of(folder: Path) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()


def test_upload_an_archive_then_train_on_it(api: Api, tmp_path: Path) -> None:
    alice = api.token("alice")
    body = _zip_of(_midi_labels_folder(tmp_path))
    response = api.client.post("/api/v1/datasets/upload", params={"name": "up"}, content=body, headers=alice)
    assert response.status_code == 202, response.text
    api.run_validations()
    dataset = api.client.get(f"/api/v1/datasets/{response.json()['id']}", headers=alice).json()
    assert dataset["status"] == "ready" and dataset["source"] == "upload"
    assert dataset["format"] == "midi-labels" and dataset["usable"] == 3
    assert Path(dataset["path"]).is_relative_to(api.settings.object_dir.resolve())
    assert not list(api.settings.upload_dir.iterdir())  # the archive itself is not kept


def test_oversized_and_malicious_uploads_leave_nothing(api: Api, tmp_path: Path) -> None:
    import io
    import zipfile

    alice = api.token("alice")
    too_big = b"x" * (api.settings.max_upload_bytes + 1)
    response = api.client.post("/api/v1/datasets/upload", params={"name": "big"}, content=too_big, headers=alice)
    assert response.status_code == 413 and "MLTRAIN_MAX_UPLOAD_BYTES" in response.json()["detail"]

    def chunks():  # no Content-Length: the server must count while streaming
        for _ in range(5):
            yield b"y" * (api.settings.max_upload_bytes // 4)

    streamed = api.client.post("/api/v1/datasets/upload", params={"name": "big"}, content=chunks(), headers=alice)
    assert streamed.status_code == 413

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../escape.txt", b"evil")
    slip = api.client.post("/api/v1/datasets/upload", params={"name": "slip"}, content=buffer.getvalue(), headers=alice)
    assert slip.status_code == 422 and "escapes" in slip.json()["detail"]
    empty = api.client.post("/api/v1/datasets/upload", params={"name": "empty"}, content=b"", headers=alice)
    assert empty.status_code == 422
    uploads = api.settings.upload_dir
    assert not uploads.exists() or not list(uploads.iterdir())
    datasets = api.settings.object_dir / "datasets"
    assert not datasets.exists() or not list(datasets.iterdir())
    assert api.client.get("/api/v1/datasets", headers=alice).json()["count"] == 0
