"""The object store interface on both backends (a folder; S3 through moto in-process) and the folder sync."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from app.config import Settings
from app.storage import LocalStore, ObjectStore, check_key, open_store, store_for
from app.storage_s3 import S3Store
from app.storage_sync import pull, push


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process S3 with fake credentials and a bucket named `bucket`."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="bucket")
        yield


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each backend, empty."""
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    request.getfixturevalue("aws")
    return S3Store.from_url("s3://bucket/some/prefix")


def test_put_get_stream_list_delete(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 3_000_000)  # several stream chunks
    info = store.put_file("jobs/a/model.last.pt", source)
    assert (info.key, info.size) == ("jobs/a/model.last.pt", 3_000_000) and info.etag
    (tmp_path / "small").write_bytes(b"{}")
    store.put_file("jobs/a/sub/metrics.json", tmp_path / "small")
    store.put_file("jobs/b/other.json", tmp_path / "small")
    assert b"".join(store.open_read("jobs/a/model.last.pt")) == source.read_bytes()
    assert [i.key for i in store.list("jobs/a/")] == ["jobs/a/model.last.pt", "jobs/a/sub/metrics.json"]
    assert store.list("jobs/none/") == []
    store.get_file("jobs/a/sub/metrics.json", tmp_path / "out" / "m.json")
    assert (tmp_path / "out" / "m.json").read_bytes() == b"{}"
    assert store.exists("jobs/b/other.json") and store.stat("jobs/b/missing") is None
    with pytest.raises(FileNotFoundError):
        store.open_read("jobs/b/missing")  # at the call, before any response starts
    with pytest.raises(FileNotFoundError):
        store.get_file("jobs/b/missing", tmp_path / "never")
    assert not (tmp_path / "never").exists()
    store.delete("jobs/a/")
    assert [i.key for i in store.list("")] == ["jobs/b/other.json"]
    assert store.key_url("datasets/x/").rstrip("/").endswith("datasets/x")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a//b", "", "a\\b"])
def test_keys_that_could_escape_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        store.stat(key)


def test_a_symlink_out_of_the_local_store_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    (tmp_path / "objects" / "jobs").mkdir(parents=True)
    (tmp_path / "secret").write_text("no")
    (tmp_path / "objects" / "jobs" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(ValueError):
        store.open_read("jobs/link")


def test_push_then_pull_moves_only_what_changed(store: ObjectStore, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "nested").mkdir(parents=True)
    for name in ("a.last.pt", "metrics.json", "nested/c.txt"):
        (work / name).write_text(name)
    (work / ".a.last.pt.tmp").write_text("half a write")  # dot-files are never sent
    assert push(store, work, "jobs/j/") == 3
    assert push(store, work, "jobs/j/") == 0  # nothing changed
    (work / "a.last.pt").write_text("epoch 2")
    assert push(store, work, "jobs/j/") == 1
    fresh = tmp_path / "fresh"  # another machine
    assert pull(store, "jobs/j/", fresh) == 3
    assert (fresh / "a.last.pt").read_text() == "epoch 2" and (fresh / "nested" / "c.txt").read_text() == "nested/c.txt"
    assert not (fresh / ".a.last.pt.tmp").exists()
    assert pull(store, "jobs/j/", fresh) == 0  # one listing, nothing downloaded
    (work / "metrics.json").write_text("more")
    push(store, work, "jobs/j/")
    store.delete("jobs/j/nested/")
    assert pull(store, "jobs/j/", fresh) == 1
    assert (fresh / "metrics.json").read_text() == "more" and not (fresh / "nested" / "c.txt").exists()
    only = tmp_path / "only"
    assert pull(store, "jobs/j/", only, keep=lambda name: name.endswith(".json")) == 1


def test_the_local_store_syncing_with_its_own_folder_copies_nothing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "jobs" / "j").mkdir(parents=True)
    (tmp_path / "jobs" / "j" / "a.json").write_text("{}")
    assert push(store, tmp_path / "jobs" / "j", "jobs/j/") == 0
    assert pull(store, "jobs/j/", tmp_path / "jobs" / "j") == 0
    assert sorted(p.name for p in (tmp_path / "jobs" / "j").iterdir()) == ["a.json"]  # no manifest written


def test_settings_default_to_the_object_folder_and_refuse_unknown_urls(tmp_path: Path) -> None:
    settings = Settings(object_dir=tmp_path / "objects")
    store = store_for(settings)
    assert isinstance(store, LocalStore) and store.root == (tmp_path / "objects").resolve()
    assert settings.work_root == tmp_path / "objects"
    assert isinstance(open_store((tmp_path / "x").as_uri()), LocalStore)
    with pytest.raises(ValueError, match="s3://"):
        Settings(object_url="gs://bucket/x")
    with pytest.raises(ValueError):
        open_store("gs://bucket/x")


def test_the_api_and_cli_start_without_boto3_when_the_store_is_local() -> None:
    code = "import app.main, ml.cli.main, sys; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
