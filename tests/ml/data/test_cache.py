"""The shared feature cache: keys follow content and settings, corrupt entries heal, failures never stop a run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ml.data.cache import FeatureCache, file_sha256, settings_hash


class Counter:
    """A compute function that records its calls and derives arrays from the file's bytes."""

    def __init__(self) -> None:
        self.calls: list[Path] = []

    def __call__(self, path: Path) -> dict[str, np.ndarray]:
        self.calls.append(path)
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8).astype(np.float32)
        return {"sum": np.array([data.sum()]), "rows": data.reshape(-1, 4)}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "song.bin"
    path.write_bytes(bytes(range(256)) * 4)
    return path


def test_second_call_is_a_hit_with_identical_arrays(source: Path, tmp_path: Path) -> None:
    cache, compute = FeatureCache(tmp_path / "cache"), Counter()
    first = cache.get_or_compute(source, {"version": 1, "sr": 22050}, compute)
    second = cache.get_or_compute(source, {"sr": 22050, "version": 1}, compute)  # key order is irrelevant
    assert len(compute.calls) == 1 and (cache.stats.hits, cache.stats.misses) == (1, 1)
    assert set(second) == {"sum", "rows"}
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
        assert first[name].dtype == second[name].dtype


def test_without_a_folder_everything_is_computed(source: Path) -> None:
    cache, compute = FeatureCache(None), Counter()
    cache.get_or_compute(source, {"v": 1}, compute)
    cache.get_or_compute(source, {"v": 1}, compute)
    assert len(compute.calls) == 2 and cache.entry_path(source, {"v": 1}) is None


def test_settings_and_content_pick_the_entry(source: Path, tmp_path: Path) -> None:
    cache, compute = FeatureCache(tmp_path / "cache"), Counter()
    cache.get_or_compute(source, {"v": 1}, compute)
    cache.get_or_compute(source, {"v": 2}, compute)
    assert len(compute.calls) == 2  # new extractor version: new entry
    copy = tmp_path / "elsewhere.bin"
    copy.write_bytes(source.read_bytes())
    cache.get_or_compute(copy, {"v": 1}, compute)
    assert len(compute.calls) == 2  # same bytes under another name: served
    assert settings_hash({"a": 1, "b": 2}) == settings_hash({"b": 2, "a": 1})
    assert file_sha256(copy) == file_sha256(source)


def test_a_rewrite_with_the_same_size_and_mtime_is_still_detected(source: Path, tmp_path: Path) -> None:
    cache, compute = FeatureCache(tmp_path / "cache"), Counter()
    before = cache.get_or_compute(source, {"v": 1}, compute)
    stat = source.stat()
    source.write_bytes(bytes(reversed(source.read_bytes())))  # same size
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the old modification time
    after = cache.get_or_compute(source, {"v": 1}, compute)
    assert len(compute.calls) == 2  # ctime moved, so the index re-hashed the file
    assert not np.array_equal(before["rows"], after["rows"])


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "pickle-header"])
def test_a_corrupt_entry_is_recomputed_and_replaced(source: Path, tmp_path: Path, damage: str) -> None:
    cache, compute = FeatureCache(tmp_path / "cache"), Counter()
    good = cache.get_or_compute(source, {"v": 1}, compute)
    entry = cache.entry_path(source, {"v": 1})
    assert entry is not None and entry.is_file()
    data = entry.read_bytes()
    entry.write_bytes(
        {
            "garbage": b"\x00\xffnot an entry",
            "truncated": data[: len(data) // 2],
            "empty": b"",
            "pickle-header": b'["x"]\n\x93NUMPY\x01\x00v\x00{"descr": "|O", "fortran_order": False, "shape": (1,), }'
            + b" " * 40
            + b"\n",
        }[damage]
    )
    again = cache.get_or_compute(source, {"v": 1}, compute)
    np.testing.assert_array_equal(again["rows"], good["rows"])
    assert cache.stats.recovered == 1 and len(compute.calls) == 2
    cache.get_or_compute(source, {"v": 1}, compute)
    assert len(compute.calls) == 2  # the healed entry serves the next call


def test_an_unwritable_cache_is_logged_and_the_features_still_returned(
    source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cache, compute = FeatureCache(blocker), Counter()
    arrays = cache.get_or_compute(source, {"v": 1}, compute)
    cache.get_or_compute(source, {"v": 1}, compute)
    assert arrays["rows"].shape == (256, 4) and len(compute.calls) == 2
    assert cache.stats.write_errors >= 2
    assert sum("cannot write to the feature cache" in r.message for r in caplog.records) == 1


def test_verify_content_rehashes_instead_of_trusting_the_index(source: Path, tmp_path: Path) -> None:
    cache, compute = FeatureCache(tmp_path / "cache", verify_content=True), Counter()
    cache.get_or_compute(source, {"v": 1}, compute)
    cache.get_or_compute(source, {"v": 1}, compute)
    assert len(compute.calls) == 1
    assert not (tmp_path / "cache" / "index").exists()
