"""Symbolic loaders on small real-MIDI fixtures in each published layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ml import emotion
from ml.config import AugmentationConfig
from ml.data.base import LoadOptions
from ml.data.registry import detect_format
from ml.data.symbolic import SYMBOLIC_FORMATS
from ml.data.symbolic.augment import augment_rows
from ml.data.symbolic.chords import parse_chord
from ml.data.symbolic.melody import melody_targets
from ml.data.symbolic.midi import parse_midi_file
from ml.errors import DataError
from tests.fixtures import midi_sets

FORMATS = {f.name: f for f in SYMBOLIC_FORMATS}
WRITERS: dict[str, Callable[[Path], Path]] = {
    "emopia": midi_sets.emopia,
    "vgmidi": midi_sets.vgmidi,
    "midi-labels": midi_sets.midi_labels,
    "maestro": midi_sets.maestro,
    "midi-folder": midi_sets.midi_folder,
    "lakh": midi_sets.lakh_full,
    "groove-midi": midi_sets.groove_midi,
    "egmd": midi_sets.egmd,
    "chords-json": midi_sets.chords_json,
    "jazz-standards": midi_sets.jazz_standards,
}
# (files found, usable, expected skip reasons (substrings), published split sizes)
EXPECTED = {
    "emopia": (8, 5, ["label conflict", "label missing", "unreadable MIDI"], {}),
    "vgmidi": (6, 4, ["label out of range", "file missing"], {}),
    "midi-labels": (7, 4, ["file missing", "label out of range", "label missing"], {}),
    "maestro": (7, 5, ["file missing", "no notes"], {"train": 3, "validation": 1, "test": 1}),
    "midi-folder": (5, 4, ["unreadable MIDI"], {}),
    "lakh": (3, 2, ["unreadable MIDI"], {}),
    "groove-midi": (6, 5, ["unreadable MIDI"], {"train": 3, "validation": 1, "test": 1}),
    "egmd": (5, 4, ["duplicate"], {"train": 2, "validation": 1, "test": 1}),
    "chords-json": (5, 3, ["too short (fewer than 2 chords)", "label out of range"], {}),
    "jazz-standards": (4, 3, ["too short"], {}),
}
SPLIT_FORMATS = {"maestro", "groove-midi", "egmd"}


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("symbolic")
    return {name: writer(base / name) for name, writer in WRITERS.items()}


@pytest.mark.parametrize("name", list(WRITERS))
def test_detected_as_itself_only(roots: dict[str, Path], name: str) -> None:
    assert detect_format(roots[name]) == name
    others = [f.name for f in SYMBOLIC_FORMATS if f.name not in (name, "midi-folder") and f.detect(roots[name])]
    assert others == []


@pytest.mark.parametrize("name", list(WRITERS))
def test_scan_reports_files_and_reasons(roots: dict[str, Path], name: str) -> None:
    found, usable, reasons, splits = EXPECTED[name]
    report = FORMATS[name].scan(roots[name])
    assert (report.files_found, report.usable) == (found, usable)
    got = [s.reason for s in report.skipped]
    assert len(got) == found - usable
    for reason in reasons:
        assert any(reason in r for r in got), (reason, got)
    assert report.splits == splits
    assert report.to_dict()["format"] == name
    if name not in ("chords-json", "jazz-standards"):
        assert report.duration_seconds["total"] > 0


@pytest.mark.parametrize("name", list(WRITERS))
def test_load_shapes_ranges_determinism(roots: dict[str, Path], name: str) -> None:
    fmt = FORMATS[name]
    model = fmt.models[0]
    ds = fmt.load(roots[name], model, LoadOptions())
    again = fmt.load(roots[name], model, LoadOptions())
    np.testing.assert_array_equal(ds.inputs, again.inputs)
    np.testing.assert_array_equal(ds.targets, again.targets)
    assert ds.groups is not None and len(np.unique(ds.groups)) >= 2
    if model == "groove_predictor":
        assert ds.targets.min() >= -1 and ds.targets.max() <= 1
    else:
        assert ds.targets.min() >= 0 and ds.targets.max() <= 1
    if model == "dynamics_engine":
        assert ds.inputs.min() >= 0 and ds.inputs.max() <= 1
    if model == "melody_transformer":
        np.testing.assert_allclose(ds.targets.max(axis=1), 1.0)
    if model == "harmony_predictor":
        np.testing.assert_allclose(ds.targets.sum(axis=1), 1.0)
    if name in SPLIT_FORMATS:
        assert ds.split is not None and set(ds.split.tolist()) == {"train", "validation", "test"}
        for g in np.unique(ds.groups):  # a group never straddles splits
            assert len(set(ds.split[ds.groups == g].tolist())) == 1
    else:
        assert ds.split is None


def test_emopia_labels_and_song_groups(roots: dict[str, Path]) -> None:
    ds = FORMATS["emopia"].load(roots["emopia"], "melody_transformer", LoadOptions())
    quadrants = {(round(float(v), 1), round(float(a), 1)) for v, a in ds.inputs[:, :2]}  # label columns 0, 1
    assert quadrants == {(0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5)}
    # the two clips of _8v0MFBZoco (Q1) share one group: 4 songs
    assert len(np.unique(ds.groups)) == 4


def test_melody_target_is_occupancy(tmp_path: Path) -> None:
    path = midi_sets.write_melody(tmp_path / "m.mid", 0, bars=4)
    y = melody_targets(parse_midi_file(path))
    assert y.shape == (1, 128)
    assert y[0, 48] == 1.0  # the held left-hand chord (C3, 4 x 0.9 bars) sounds longest
    assert y[0, :40].sum() == 0 and y[0, 80:].sum() == 0


def test_lakh_melody_needs_labels(roots: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(DataError, match="labels"):
        FORMATS["lakh"].load(roots["lakh"], "melody_transformer", LoadOptions())
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({midi_sets.MD5S[0]: {"valence": 0.4, "arousal": -0.4}}))
    ds = FORMATS["lakh"].load(roots["lakh"], "melody_transformer", LoadOptions(labels_file=labels))
    assert len(np.unique(ds.groups)) == 1
    assert any(s["reason"] == "label missing" for s in ds.info["skipped"])


def test_lakh_matched_groups_by_track(tmp_path: Path) -> None:
    root = midi_sets.lakh_matched(tmp_path / "lmd")
    assert detect_format(root) == "lakh"
    ds = FORMATS["lakh"].load(root, "dynamics_engine", LoadOptions())
    assert len(np.unique(ds.groups)) == 2 and ds.info["files_used"] == 3


def test_groove_emotion_mapping_and_labels(roots: dict[str, Path], tmp_path: Path) -> None:
    root = roots["groove-midi"]
    ds = FORMATS["groove-midi"].load(root, "groove_predictor", LoadOptions())
    va = emotion.decode(ds.inputs)
    assert va[:, 0].min() >= 0.0  # funk/rock/jazz/latin/hiphop all map to valence >= 0
    assert len(np.unique(np.round(va, 2), axis=0)) == 5  # one style prior per style, nothing from the notes
    labels = tmp_path / "groove_labels.json"
    labels.write_text('{"drummer1/session1/1_funk_80_beat_4-4.mid": {"valence": -0.9, "arousal": 0.9}}')
    only = FORMATS["groove-midi"].load(root, "groove_predictor", LoadOptions(labels_file=labels))
    np.testing.assert_allclose(emotion.decode(only.inputs), [[-0.9, 0.9]] * len(only), atol=0.011)


def test_jazz_emotion_derivation(roots: dict[str, Path]) -> None:
    report = FORMATS["jazz-standards"].scan(roots["jazz-standards"])
    assert any("'Qx7' x1" in w and "treated as N.C." in w for w in report.warnings)
    ds = FORMATS["jazz-standards"].load(roots["jazz-standards"], "harmony_predictor", LoadOptions())
    va = emotion.decode(ds.inputs[:, :64])
    songs = {int(g): tuple(np.round(va[ds.groups == g][0], 2)) for g in np.unique(ds.groups)}
    assert songs[0][0] < 0 and songs[1][0] > 0  # G minor vs C major
    assert songs[1][1] == 0.7 and songs[2][1] == -0.2  # up tempo swing vs bossa nova


def test_augmentation(roots: dict[str, Path]) -> None:
    cfg = AugmentationConfig(transpose_semitones=3, tempo_scale=0.2, note_dropout=0.3, copies=2)
    mel = FORMATS["emopia"].load(roots["emopia"], "melody_transformer", LoadOptions())
    aug = augment_rows(mel, cfg, seed=1)
    assert len(aug) == 3 * len(mel) and np.array_equal(aug.groups, np.tile(mel.groups, 3))
    np.testing.assert_allclose(aug.targets.max(axis=1), 1.0)
    assert np.array_equal(aug.inputs[len(mel) :], np.tile(mel.inputs, (2, 1)))
    again = augment_rows(mel, cfg, seed=1)
    np.testing.assert_array_equal(aug.targets, again.targets)
    har = FORMATS["chords-json"].load(roots["chords-json"], "harmony_predictor", LoadOptions())
    one = AugmentationConfig(transpose_semitones=5, copies=1)
    out = augment_rows(har, one, seed=3)
    shift = {(int(a), int(b)) for a, b in zip(har.targets.argmax(1), out.targets[len(har) :].argmax(1), strict=True)}
    ks = {(b % 12 - a % 12) % 12 for a, b in shift if a < 60}
    assert len(ks) == 1  # one transposition per copy, applied to every root
    np.testing.assert_allclose(out.targets.sum(axis=1), 1.0)
    dyn = FORMATS["maestro"].load(roots["maestro"], "dynamics_engine", LoadOptions())
    out = augment_rows(dyn, cfg, seed=2)
    assert out.inputs.min() >= 0 and out.inputs.max() <= 1
    assert augment_rows(dyn, AugmentationConfig(), seed=2) is dyn
    assert parse_chord("C") == 0


def test_corrupt_file_never_stops_a_run(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    midi_sets.write_truncated(root / "a.mid")
    midi_sets.write_empty(root / "b.mid")
    (root / "c.mid").write_bytes(b"not a midi file at all")
    report = FORMATS["midi-folder"].scan(root)
    assert report.usable == 0 and len(report.skipped) == 3 and not report.ok
    with pytest.raises(DataError, match="no usable files"):
        FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions())


def test_warning_noise_is_filtered(tmp_path: Path) -> None:
    import mido

    path = midi_sets.write_melody(tmp_path / "w.mid", 0)
    mid = mido.MidiFile(str(path))
    mid.tracks[-1].insert(0, mido.MetaMessage("set_tempo", tempo=400000, time=0))
    mid.save(str(path))
    parsed = parse_midi_file(path)  # pretty_midi warns here; filterwarnings=error would turn it into a failure
    assert len(parsed["notes"]) > 0
