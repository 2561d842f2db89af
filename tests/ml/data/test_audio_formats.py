from __future__ import annotations

import time
from pathlib import Path

import librosa
import numpy as np
import pytest

from ml import emotion
from ml.data import LoadOptions, detect_format, load_dataset, validate_dataset
from ml.data.audio.features import log_mel, window_vectors
from ml.data.cache import FeatureCache
from ml.errors import DataError
from tests.fixtures.audio_sets import tone, write_audio_labels, write_deam


@pytest.fixture(scope="module")
def deam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_deam(tmp_path_factory.mktemp("DEAM"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_audio_labels(tmp_path_factory.mktemp("clips"))


def test_log_mel_equals_librosa() -> None:
    y = tone(4.0, 22050, 0.4, seed=1)
    expected = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128), ref=1.0, top_db=None
    )
    np.testing.assert_allclose(log_mel(y), expected, atol=1e-3)


def test_windows_are_3s_means_every_1_5s() -> None:
    mel = np.arange(128 * 400, dtype=np.float32).reshape(128, 400)
    windows = window_vectors(mel)
    assert windows.shape == (len(range(0, 400 - 129 + 1, 65)), 128)
    np.testing.assert_allclose(windows[1], mel[:, 65:194].mean(axis=1))


def test_formats_are_detected(deam: Path, clips: Path) -> None:
    assert detect_format(deam) == "deam"
    assert detect_format(clips) == "audio-labels"
    assert detect_format(deam, "emotion_recognizer") == "deam"


def test_deam_report_names_every_skipped_file(deam: Path) -> None:
    report = validate_dataset(deam)
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.format == "deam" and report.files_found == 8 and report.usable == 5
    assert "audio file is missing" in reasons["MEMD_audio/2002.mp3"]
    assert "no annotation" in reasons["MEMD_audio/17.mp3"]
    assert "too short" in reasons["MEMD_audio/11.mp3"]
    assert "audio" in reasons["MEMD_audio/13.mp3"]
    assert report.label_ranges["valence"] == [pytest.approx((2.2 - 5) / 4), pytest.approx((7.4 - 5) / 4)]
    assert report.duration_seconds["max"] == pytest.approx(40.0, abs=0.1)


def test_deam_load_gives_windows_grouped_by_song_with_decoded_labels(deam: Path, tmp_path: Path) -> None:
    data = load_dataset(deam, "emotion_recognizer", options=LoadOptions(cache_dir=tmp_path / "cache"))
    assert data.inputs.shape[1] == 128 and data.groups is not None
    assert len(np.unique(data.groups)) == 5
    assert np.isfinite(data.inputs).all() and data.inputs.max() < 50 and data.inputs.min() > -120
    decoded = emotion.decode(data.targets)
    song_2 = np.array([(3.1 - 5) / 4, (6.2 - 5) / 4])
    assert (np.abs(decoded - song_2).max(axis=1) <= 0.006).any()
    # Song 2001 is full length: 40 s - 15 s offset = 25 s gives more windows than a 20 s excerpt.
    counts = np.bincount(data.groups)
    assert counts.max() > counts.min()


def test_second_load_is_served_from_the_cache(deam: Path, tmp_path: Path) -> None:
    options = LoadOptions(cache_dir=tmp_path / "cache")
    started = time.perf_counter()
    first = load_dataset(deam, "emotion_recognizer", options=options)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    second = load_dataset(deam, "emotion_recognizer", options=options)
    warm = time.perf_counter() - started
    assert first.info["cache"]["misses"] == 5
    assert (second.info["cache"]["hits"], second.info["cache"]["misses"]) == (5, 0)
    np.testing.assert_array_equal(first.inputs, second.inputs)
    assert warm < cold  # the speed-up itself is measured in bench/features.py, not asserted here


def test_changed_file_and_corrupt_entry_are_detected(clips: Path, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    path = clips / "clip0.wav"
    calls: list[Path] = []

    def compute(p: Path) -> dict[str, np.ndarray]:
        calls.append(p)
        return {"x": np.frombuffer(p.read_bytes()[-16:], dtype=np.uint8).astype(np.float32)}

    first = cache.get_or_compute(path, {"v": 1}, compute)
    cache.get_or_compute(path, {"v": 1}, compute)
    assert len(calls) == 1
    entry = cache.entry_path(path, {"v": 1})
    assert entry is not None
    entry.write_bytes(b"garbage")
    np.testing.assert_array_equal(cache.get_or_compute(path, {"v": 1}, compute)["x"], first["x"])
    assert len(calls) == 2 and cache.stats.recovered == 1
    assert cache.get_or_compute(path, {"v": 2}, compute) and len(calls) == 3  # other settings, other entry
    copy = tmp_path / "copy.wav"
    copy.write_bytes(path.read_bytes()[:-4] + b"\x01\x02\x03\x04")
    cache.get_or_compute(copy, {"v": 1}, compute)
    assert len(calls) == 4  # different content, never served the old features


def test_audio_labels_reports_and_loads(clips: Path) -> None:
    report = validate_dataset(clips)
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.usable == 4
    assert "no row in labels.csv" in reasons["unlabelled.wav"]
    assert "out of range" in reasons["loud.wav"]
    data = load_dataset(clips, "emotion_recognizer")
    assert len(np.unique(data.groups)) == 4 and data.inputs.shape[1] == 128


def test_a_folder_with_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("filename,valence,arousal\nmissing.wav,0.1,0.2\n")
    with pytest.raises(DataError, match="no usable audio"):
        load_dataset(tmp_path, "emotion_recognizer", "audio-labels")


def test_waveform_augmentation_adds_flagged_training_copies(clips: Path, tmp_path: Path) -> None:
    from ml.config import AugmentationConfig

    aug = AugmentationConfig(copies=1, pitch_shift_semitones=2, noise_snr_db=20)
    data = load_dataset(clips, "emotion_recognizer", options=LoadOptions(cache_dir=tmp_path, augmentation=aug))
    plain = load_dataset(clips, "emotion_recognizer")
    assert data.augmented is not None and data.augmented.sum() > 0
    np.testing.assert_array_equal(data.inputs[~data.augmented], plain.inputs)
    assert not np.allclose(data.inputs[data.augmented][: len(plain.inputs)], plain.inputs)
