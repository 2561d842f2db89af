"""Data sets: a real audio-labels folder, pagination, multipart upload, 413 with nothing left, a useless folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.app.conftest import Api
from tests.fixtures.audio_sets import write_audio_labels


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder.parent).as_posix())
    return buffer.getvalue()


def test_register_a_real_audio_labels_folder_with_its_report(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    response = api.client.post("/api/v1/datasets", json={"name": "mood", "path": str(folder)}, headers=alice)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["format"] == "audio-labels" and body["source"] == "folder" and body["path"] == str(folder.resolve())
    report = body["report"]
    assert report["usable"] == body["usable"] >= 4 and report["files_found"] > report["usable"]
    assert {s["path"].rsplit("/", 1)[-1] for s in report["skipped"]} >= {"unlabelled.wav", "loud.wav"}
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")


def test_a_folder_with_no_usable_file_is_422_with_the_report(api: Api) -> None:
    folder = api.settings.dataset_roots[0] / "empty"
    folder.mkdir()
    (folder / "labels.csv").write_text("filename,valence,arousal\nmissing.wav,0.1,0.2\n")
    response = api.client.post(
        "/api/v1/datasets",
        json={"name": "e", "path": str(folder), "format": "audio-labels"},
        headers=api.token("alice"),
    )
    assert response.status_code == 422 and "0 usable" in response.json()["detail"]


def test_dataset_pagination(api: Api) -> None:
    alice = api.token("alice")
    folder = write_audio_labels(api.settings.dataset_roots[0] / "mood")
    ids = [
        api.client.post("/api/v1/datasets", json={"name": f"m{i}", "path": str(folder)}, headers=alice).json()["id"]
        for i in range(3)
    ]
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
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["name"] == "uploaded mood" and dataset["source"] == "upload" and dataset["usable"] >= 4
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
    response = api.client.post("/api/v1/datasets", json={"name": "m", "path": str(parent)}, headers=alice)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["format"] == "maestro" and body["path"] == str(inner.resolve())
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
