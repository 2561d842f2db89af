"""DEAM and audio-labels on real MP3/WAV/FLAC/OGG fixtures: reports, samples, targets, groups, cache, augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml import emotion
from ml.augment import augment_training_rows
from ml.config import AugmentationConfig
from ml.data import LoadOptions, detect_format, load_dataset, validate_dataset
from ml.data.audio import clips as clips_module
from ml.errors import DataError
from tests.fixtures.audio_sets import write_audio_labels, write_deam, write_nine_point_labels


@pytest.fixture(scope="module")
def deam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_deam(tmp_path_factory.mktemp("DEAM"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_audio_labels(tmp_path_factory.mktemp("clips"))


class DecodeCounter:
    """Wraps load_audio to count decodes (and optionally fail one file)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: str | None = None) -> None:
        self.calls: list[str] = []
        self.real = clips_module.load_audio
        self.fail = fail
        monkeypatch.setattr(clips_module, "load_audio", self)

    def __call__(self, path: Path, **kwargs: float) -> np.ndarray:
        self.calls.append(Path(path).name)
        if self.fail and Path(path).name == self.fail:
            raise DataError("cannot decode audio: broken frames")
        return self.real(path, **kwargs)


def test_formats_are_detected(deam: Path, clips: Path, tmp_path: Path) -> None:
    assert detect_format(deam) == "deam"
    assert detect_format(clips) == "audio-labels"
    assert detect_format(deam, "emotion_recognizer") == "deam"
    with pytest.raises(DataError, match="could not recognise"):
        detect_format(tmp_path)


def test_deam_report_names_every_skipped_file(deam: Path) -> None:
    report = validate_dataset(deam)
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.format == "deam" and report.files_found == 8 and report.usable == 5
    assert "audio file is missing" in reasons["MEMD_audio/2002.mp3"]
    assert "no annotation" in reasons["MEMD_audio/17.mp3"]
    assert "too short" in reasons["MEMD_audio/11.mp3"]
    assert "unreadable audio" in reasons["MEMD_audio/13.mp3"]
    assert len(report.skipped) == 4  # song 7 listed in both CSVs with equal values is no skip, no warning
    assert report.warnings == []
    assert report.label_ranges["valence"] == [pytest.approx((2.2 - 5) / 4), pytest.approx((7.4 - 5) / 4)]
    assert report.duration_seconds["max"] == pytest.approx(40.0, abs=0.1)
    assert report.duration_seconds["min"] == pytest.approx(20.0, abs=0.1)


def test_deam_load_gives_windows_grouped_by_song_with_decoded_labels(deam: Path, tmp_path: Path) -> None:
    data = load_dataset(deam, "emotion_recognizer", options=LoadOptions(cache_dir=tmp_path / "cache"))
    assert data.inputs.shape[1] == 128 and data.groups is not None and data.augmented is not None
    assert not data.augmented.any() and data.info["files_used"] == 5
    assert np.isfinite(data.inputs).all() and data.inputs.max() < 50 and data.inputs.min() > -120
    counts = np.bincount(data.groups)
    # 20 s excerpts use 15..20 s: 5 s -> 2 windows; song 2001 (40 s, full length) uses 15..40 s -> 15 windows.
    assert sorted(counts.tolist()) == [2, 2, 2, 2, 15]
    expected = {(3.1, 6.2), (6.8, 4.4), (5.0, 7.9), (2.2, 2.5), (7.4, 6.6)}
    for group in range(5):
        rows = data.targets[data.groups == group]
        assert (rows == rows[0]).all()  # one target per song
        v, a = emotion.decode(rows[0])
        assert any(abs(v - (ev - 5) / 4) <= 0.006 and abs(a - (ea - 5) / 4) <= 0.006 for ev, ea in expected)


def test_second_load_is_served_from_the_cache_without_decoding(
    deam: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = LoadOptions(cache_dir=tmp_path / "cache")
    decodes = DecodeCounter(monkeypatch)
    first = load_dataset(deam, "emotion_recognizer", options=options)
    assert len(decodes.calls) == 5 and first.info["cache"]["misses"] == 5
    second = load_dataset(deam, "emotion_recognizer", options=options)
    assert len(decodes.calls) == 5  # nothing decoded the second time
    assert (second.info["cache"]["hits"], second.info["cache"]["misses"]) == (5, 0)
    np.testing.assert_array_equal(first.inputs, second.inputs)
    np.testing.assert_array_equal(first.groups, second.groups)


def test_a_file_that_fails_to_decode_is_skipped_and_the_run_goes_on(
    deam: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    DecodeCounter(monkeypatch, fail="3.mp3")
    data = load_dataset(deam, "emotion_recognizer")
    assert data.info["files_used"] == 4 and len(np.unique(data.groups)) == 4
    assert {"path": "MEMD_audio/3.mp3", "reason": "cannot decode audio: broken frames"} in data.info["skipped"]
    assert sum("3.mp3" in r.message for r in caplog.records) == 1


def test_audio_labels_reports_every_reason_and_loads(clips: Path) -> None:
    report = validate_dataset(clips)
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.usable == 5 and report.files_found == 9
    assert reasons["unlabelled.wav"] == "no row in labels.csv"
    assert "out of range" in reasons["loud.wav"]
    assert reasons["blank.wav"] == "label missing or not a number"
    assert reasons["gone.wav"] == "listed in labels.csv but the file is missing"
    assert "phone.m4a" in reasons  # needs ffmpeg, and is truncated anyway
    assert any(s.path == "clip0.wav" and s.reason == "duplicate row in labels.csv" for s in report.skipped)
    assert report.label_ranges["arousal"] == [pytest.approx(-0.6), pytest.approx(0.9)]
    data = load_dataset(clips, "emotion_recognizer")
    assert len(np.unique(data.groups)) == 5 and data.inputs.shape[1] == 128


def test_audio_labels_on_the_nine_point_scale_is_mapped_and_said(tmp_path: Path) -> None:
    root = write_nine_point_labels(tmp_path / "nine")
    report = validate_dataset(root, "audio-labels")
    assert report.usable == 2 and any("1..9 scale" in w for w in report.warnings)
    assert report.label_ranges == {"valence": [-1.0, 1.0], "arousal": [-0.5, 0.5]}


def test_a_folder_with_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("filename,valence,arousal\nmissing.wav,0.1,0.2\n")
    assert not validate_dataset(tmp_path, "audio-labels").ok
    with pytest.raises(DataError, match="no usable audio"):
        load_dataset(tmp_path, "emotion_recognizer", "audio-labels")


def test_waveform_augmentation_adds_flagged_copies_cached_per_setting(clips: Path, tmp_path: Path) -> None:
    aug = AugmentationConfig(copies=1, pitch_shift_semitones=2, noise_snr_db=20)
    options = LoadOptions(cache_dir=tmp_path, augmentation=aug)
    data = load_dataset(clips, "emotion_recognizer", options=options)
    plain = load_dataset(clips, "emotion_recognizer")
    assert data.augmented is not None and data.augmented.sum() > 0
    np.testing.assert_array_equal(data.inputs[~data.augmented], plain.inputs)
    assert not np.allclose(data.inputs[data.augmented][: len(plain.inputs)], plain.inputs)
    again = load_dataset(clips, "emotion_recognizer", options=options)
    assert again.info["cache"]["misses"] == 0  # copies come from the cache too
    np.testing.assert_array_equal(again.inputs, data.inputs)


def test_mel_augmentation_sees_only_training_rows(clips: Path) -> None:
    data = load_dataset(clips, "emotion_recognizer")
    train = np.flatnonzero(data.groups != 0)
    config = AugmentationConfig(copies=2, mel_gain_db=6.0, mel_noise_std=0.5)
    out = augment_training_rows(data.subset(train), config, seed=1)  # what the trainer calls
    assert len(out) == 3 * len(train) and out.augmented is not None and out.augmented.sum() == 2 * len(train)
    assert out.groups is not None and 0 not in out.groups  # the held-out file never appears
    np.testing.assert_array_equal(out.inputs[: len(train)], data.inputs[train])
    np.testing.assert_array_equal(out.targets[len(train) :], np.tile(data.targets[train], (2, 1)))
    shift = out.inputs[len(train) :] - np.tile(data.inputs[train], (2, 1))
    assert 0.1 < np.median(np.abs(shift)) < 7.5
    repeat = augment_training_rows(data.subset(train), config, seed=1)
    np.testing.assert_array_equal(repeat.inputs, out.inputs)  # seeded
