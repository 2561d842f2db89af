"""Data sets: a real audio-labels folder validated in the background, pagination, multipart upload, 413 with
nothing left, a useless folder, jobs refused until the scan is done, delete during a scan."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.app.conftest import Api
from tests.fixtures.audio_sets import write_audio_labels

JOB = {"type": "train", "model": "groove_predictor", "params": {"epochs": 1}}


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


def test_register_answers_at_once_then_the_scan_fills_in_the_report(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    response = api.client.post("/api/v1/datasets", json={"name": "mood", "path": str(folder)}, headers=alice)
    assert response.status_code == 202, response.text
    pending = response.json()
    assert (pending["status"], pending["report"], pending["usable"]) == ("validating", None, 0)
    assert pending["format"] == "audio-labels" and pending["path"] == str(folder.resolve())
    scan_job = pending["validation"]["job_id"]
    assert api.enqueued == [(scan_job, "data")]  # its own queue: never behind a training
    assert api.client.get(f"/api/v1/jobs/{scan_job}", headers=alice).json()["type"] == "validate"

    assert api.run_validations() == ["succeeded"]
    body = api.client.get(f"/api/v1/datasets/{pending['id']}", headers=alice).json()
    assert body["status"] == "ready" and body["error"] is None and body["source"] == "folder"
    report = body["report"]
    assert report["usable"] == body["usable"] >= 4 and report["files_found"] > report["usable"]
    assert {s["path"].rsplit("/", 1)[-1] for s in report["skipped"]} >= {"unlabelled.wav", "loud.wav"}
    progress = body["validation"]
    assert progress["files_seen"] == progress["files_total"] == report["files_found"]
    assert (progress["usable"], progress["skipped"], progress["fraction"]) == (
        report["usable"],
        len(report["skipped"]),
        1.0,
    )
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    listed = api.client.get("/api/v1/datasets", headers=alice).json()["data"]
    assert [(d["id"], d["status"], d["usable"]) for d in listed] == [(body["id"], "ready", body["usable"])]


def test_a_folder_with_no_usable_file_ends_invalid_with_the_reasons(api: Api) -> None:
    alice = api.token("alice")
    folder = api.settings.dataset_roots[0] / "empty"
    folder.mkdir()
    (folder / "labels.csv").write_text("filename,valence,arousal\nmissing.wav,0.1,0.2\n")
    body = api.register(alice, name="e", path=str(folder), format="audio-labels")
    assert body["status"] == "invalid" and body["usable"] == 0
    assert "0 usable" in str(body["error"]) and "missing.wav" in str(body["error"])
    job = api.client.post("/api/v1/jobs", json={**JOB, "dataset_id": body["id"]}, headers=alice)
    assert job.status_code == 422 and "is invalid" in job.json()["detail"]


def test_jobs_on_a_data_set_still_validating_are_refused_with_what_to_do(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    dataset = api.client.post("/api/v1/datasets", json={"name": "m", "path": str(folder)}, headers=alice).json()
    early = api.client.post("/api/v1/jobs", json={**JOB, "dataset_id": dataset["id"]}, headers=alice)
    assert early.status_code == 409
    assert "still validating" in early.json()["detail"] and f"/datasets/{dataset['id']}" in early.json()["detail"]
    api.run_validations()
    later = api.client.post("/api/v1/jobs", json={**JOB, "dataset_id": dataset["id"]}, headers=alice)
    assert later.status_code == 202, later.text


def test_deleting_a_data_set_during_its_scan_cancels_the_scan(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    dataset = api.client.post("/api/v1/datasets", json={"name": "m", "path": str(folder)}, headers=alice).json()
    assert api.client.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice).status_code == 204
    scan = api.client.get(f"/api/v1/jobs/{dataset['validation']['job_id']}", headers=alice).json()
    assert (scan["status"], scan["error"]) == ("cancelled", "data set deleted")
    assert api.run_validations() == [None]  # the late message finds nothing to do


def test_a_scan_that_fails_leaves_the_data_set_invalid_with_the_reason(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    dataset = api.client.post("/api/v1/datasets", json={"name": "m", "path": str(folder)}, headers=alice).json()
    shutil.rmtree(folder)  # gone before a worker got to it
    assert api.run_validations() == ["failed"]
    body = api.client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice).json()
    assert body["status"] == "invalid" and "no longer usable" in str(body["error"])


def test_registration_parses_no_file_in_the_request(api: Api) -> None:
    from tests.fixtures import midi_sets

    alice = api.token("alice")
    folder = api.settings.dataset_roots[0] / "many"
    template = midi_sets.write_melody(folder / "a" / "0.mid")
    for index in range(1, 600):
        (folder / "a" / f"{index}.mid").write_bytes(template.read_bytes())
    (folder / "a" / "1.mid").write_bytes(b"MThd broken")
    response = api.client.post("/api/v1/datasets", json={"name": "many", "path": str(folder)}, headers=alice)
    assert response.status_code == 202 and response.json()["format"] == "midi-folder"
    assert not (api.settings.object_dir / "cache").exists()  # nothing parsed, nothing cached yet
    assert api.run_validations() == ["succeeded"]
    body = api.client.get(f"/api/v1/datasets/{response.json()['id']}", headers=alice).json()
    assert (body["status"], body["usable"], body["report"]["files_found"]) == ("ready", 599, 600)
    assert body["report"]["skipped"][0]["path"] == "a/1.mid"
    assert any((api.settings.object_dir / "cache").rglob("*.arrays"))  # a second scan is served from the cache


def test_dataset_pagination(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    ids = [str(api.register(alice, name=f"m{i}", path=str(folder))["id"]) for i in range(3)]
    pages = [api.client.get("/api/v1/datasets", params={"limit": 2, "offset": o}, headers=alice).json() for o in (0, 2)]
    assert [p["count"] for p in pages] == [3, 3] and [len(p["data"]) for p in pages] == [2, 1]
    assert sorted(d["id"] for p in pages for d in p["data"]) == sorted(ids)
    assert api.client.get("/api/v1/datasets", params={"limit": 0}, headers=alice).status_code == 422


def test_multipart_upload_then_delete_removes_the_unpacked_files(api: Api, tmp_path: Path) -> None:
    alice = api.token("alice")
    archive = _zip(write_audio_labels(tmp_path / "mood"))
    response = api.client.post(
        "/api/v1/datasets/upload",
        files={"file": ("mood.zip", archive, "application/zip")},
        data={"name": "uploaded mood", "format": "audio-labels"},
        headers=alice,
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "validating"
    assert api.run_validations() == ["succeeded"]
    dataset = api.client.get(f"/api/v1/datasets/{response.json()['id']}", headers=alice).json()
    assert dataset["status"] == "ready" and dataset["name"] == "uploaded mood"
    assert dataset["source"] == "upload" and dataset["usable"] >= 4
    unpacked = Path(dataset["path"])
    assert unpacked.is_dir() and unpacked.is_relative_to(api.settings.upload_root.resolve())
    assert list(api.settings.upload_dir.iterdir()) == []
    assert api.client.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice).status_code == 204
    assert not unpacked.exists()
    assert api.client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice).status_code == 404


def test_multipart_upload_past_the_limit_is_413_and_leaves_nothing(api: Api) -> None:
    alice = api.token("alice")
    big = b"\0" * (api.settings.max_upload_bytes + 10)

    def chunks():  # no Content-Length: the byte counter must stop it
        body = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n\r\n'
        yield body
        for start in range(0, len(big), 1 << 16):
            yield big[start : start + (1 << 16)]
        yield b"\r\n--B--\r\n"

    headers = {**alice, "Content-Type": "multipart/form-data; boundary=B"}
    response = api.client.post("/api/v1/datasets/upload", content=chunks(), headers=headers)
    assert response.status_code == 413 and "MLTRAIN_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert list(api.settings.upload_dir.iterdir()) == []
    assert not api.settings.upload_root.exists() or list(api.settings.upload_root.iterdir()) == []


def test_upload_without_a_file_part_is_422(api: Api) -> None:
    response = api.client.post(
        "/api/v1/datasets/upload", data={"name": "x"}, files={"other": ("a", b"1")}, headers=api.token("alice")
    )
    assert response.status_code == 422 and "file" in response.json()["detail"]


def test_registering_the_parent_folder_finds_the_data_set_below_it(api: Api) -> None:
    from tests.fixtures import midi_sets

    alice = api.token("alice")
    parent = api.settings.dataset_roots[0] / "downloads"
    inner = midi_sets.maestro(parent / "maestro-v3.0.0")
    body = api.register(alice, name="m", path=str(parent))
    assert body["status"] == "ready" and body["format"] == "maestro" and body["path"] == str(inner.resolve())
    assert body["report"]["subfolder"] == "maestro-v3.0.0"
    assert body["report"]["warnings"][0] == "using the maestro data set found in maestro-v3.0.0/"


def test_an_upload_that_is_not_an_archive_is_named_as_the_user_sent_it(api: Api) -> None:
    response = api.client.post(
        "/api/v1/datasets/upload",
        files={"file": ("my-songs.rar", b"Rar!\x1a\x07\x00 not really", "application/octet-stream")},
        data={"name": "songs"},
        headers=api.token("alice"),
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("my-songs.rar is not a zip or tar archive")
    assert list(api.settings.upload_dir.iterdir()) == []


@pytest.fixture(scope="module")
def deam_published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DEAM folder in the published layout (its MP3s take seconds to encode: written once)."""
    from tests.fixtures.audio_sets import write_deam

    return write_deam(tmp_path_factory.mktemp("deam") / "published")


def _writer(fmt: str, deam_published: Path) -> Callable[[Path], Path]:
    from tests.fixtures import midi_sets

    def mirrored_deam(folder: Path) -> Path:
        """DEAM as mirrors unpack it: DEAM_audio/MEMD_audio beside DEAM_Annotations/annotations."""
        shutil.copytree(deam_published / "MEMD_audio", folder / "DEAM_audio" / "MEMD_audio")
        shutil.copytree(deam_published / "annotations", folder / "DEAM_Annotations" / "annotations")
        return folder

    writers: dict[str, Callable[[Path], Path]] = {
        "maestro": midi_sets.maestro,
        "emopia": midi_sets.emopia,
        "groove-midi": midi_sets.groove_midi,
        "chords-json": midi_sets.chords_json,
        "deam": mirrored_deam,
    }
    return writers[fmt]


@pytest.mark.parametrize("fmt", ["maestro", "emopia", "groove-midi", "chords-json", "deam"])
@pytest.mark.parametrize("depth", [0, 2])
def test_register_and_upload_agree_with_validate_at_any_depth(
    api: Api, deam_published: Path, fmt: str, depth: int
) -> None:
    from ml.data import validate_dataset

    alice = api.token("alice")
    parts = ["Downloads", f"{fmt}-v1"][:depth]
    top = api.settings.dataset_roots[0] / f"{fmt}-{depth}"
    _writer(fmt, deam_published)(top.joinpath(*parts))
    expected = validate_dataset(top)
    registered = api.register(alice, name="r", path=str(top))
    assert (registered["status"], registered["format"], registered["usable"]) == ("ready", fmt, expected.usable)
    assert registered["report"]["subfolder"] == expected.subfolder
    assert registered["report"]["skipped"] == [vars(s) for s in expected.skipped]
    if fmt == "deam":
        return  # its MP3s exceed the tests' upload limit; the upload path is the same for every format
    upload = api.client.post("/api/v1/datasets/upload", params={"name": "u"}, content=_zip(top), headers=alice)
    assert upload.status_code == 202, upload.text
    api.run_validations()
    uploaded = api.client.get(f"/api/v1/datasets/{upload.json()['id']}", headers=alice).json()
    # the archive adds its own top folder (the zip holds top/...), one level more than the folder registered
    assert (uploaded["status"], uploaded["format"], uploaded["usable"]) == ("ready", fmt, expected.usable)
    assert uploaded["report"]["subfolder"] == "/".join([top.name, *parts])
