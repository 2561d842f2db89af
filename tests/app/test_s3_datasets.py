"""A data set registered as an `s3://` prefix: checked against MLTRAIN_DATASET_URL_ROOTS, synced by ETag to the
worker's cache, scanned there (moto's in-process S3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from app.api.deps import get_enqueuer
from app.main import create_app
from app.migrate import upgrade
from tests.app.conftest import Api, make_settings
from tests.fixtures.midi_sets import groove_midi


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The app with `s3://bucket/data/` registrable and a groove data set uploaded at `data/gmd/`."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'mltrain.db'}"
    upgrade(url)
    settings = make_settings(tmp_path, url).model_copy(update={"dataset_url_roots": ["s3://bucket/data/"]})
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        source = groove_midi(tmp_path / "gmd")
        for path in source.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), "bucket", f"data/gmd/{path.relative_to(source).as_posix()}")
        app = create_app(settings)
        api = Api(client=None, settings=settings)  # type: ignore[arg-type]
        app.dependency_overrides[get_enqueuer] = lambda: lambda job_id, queue: api.enqueued.append((job_id, queue))
        with TestClient(app) as client:
            api.client = client
            yield api


def test_an_s3_prefix_is_synced_to_the_worker_and_scanned(api: Api) -> None:
    alice = api.token("alice")
    body = {"name": "gmd", "path": "s3://bucket/data/gmd", "format": "groove-midi"}
    dataset = api.register(alice, **body)
    assert dataset["status"] == "ready" and dataset["usable"] >= 4, dataset
    assert dataset["path"] == "s3://bucket/data/gmd/"
    cache = api.settings.work_root / "cache" / "datasets"
    (copy,) = cache.iterdir()
    assert (copy / "groove" / "info.csv").is_file()
    before = (copy / "groove" / "info.csv").stat().st_mtime_ns
    again = api.register(alice, **body)  # the same prefix again: nothing downloaded a second time
    assert again["status"] == "ready" and (copy / "groove" / "info.csv").stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("path", "fmt", "status", "words"),
    [
        ("s3://other/data/gmd", "groove-midi", 403, "MLTRAIN_DATASET_URL_ROOTS"),
        ("s3://bucket/data/../secret", "groove-midi", 422, "plain"),
        ("s3://bucket/data/gmd", None, 422, "format"),
        ("s3://bucket/data/gmd", "no-such-format", 422, "format"),
    ],
)
def test_s3_prefixes_outside_the_roots_or_without_a_format_are_refused(
    api: Api, path: str, fmt: str | None, status: int, words: str
) -> None:
    body = {"name": "x", "path": path, **({"format": fmt} if fmt else {})}
    response = api.client.post("/api/v1/datasets", json=body, headers=api.token("alice"))
    assert response.status_code == status and words in response.json()["detail"], response.text
    assert api.enqueued == []
