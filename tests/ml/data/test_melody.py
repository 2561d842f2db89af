"""melody_transformer rows: key estimation, the tonic-C frame, exact targets and causal inputs, augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.config import AugmentationConfig
from ml.data.base import LoadOptions
from ml.data.symbolic import SYMBOLIC_FORMATS, melody
from ml.data.symbolic.augment import augment_rows
from ml.data.symbolic.key import Key, estimate_key, relative_key_number, tonic_shift
from ml.data.symbolic.melody import (
    PREV_PRESENT_COLUMN,
    PREV_WINDOW_COLUMNS,
    PREV_WINDOW_PITCHES,
    from_key_frame,
    melody_rows,
    melody_targets,
    with_emotion,
)
from ml.data.symbolic.midi import parse_midi_file
from ml.synthetic import make_synthetic
from tests.fixtures import midi_sets

FORMATS = {f.name: f for f in SYMBOLIC_FORMATS}
Notes = list[tuple[int, float, float]]  # (pitch, start beat, end beat)

C_MAJOR_SCALE: Notes = [(60 + step, i, i + 1) for i, step in enumerate((0, 2, 4, 5, 7, 9, 11, 12))]
# A natural minor: A3 C4 E4 A4 G4 F4 E4 D4 C4 B3, A3 held, over an A2 / E3 bass
A_MINOR_MELODY: Notes = [(p, b, b + 1) for b, p in enumerate((57, 60, 64, 69, 67, 65, 64, 62, 60, 59))]
A_MINOR_MELODY += [(57, 10, 14), (45, 0, 8), (52, 8, 12)]
# A3 B3 C4 D4 E4 F4 G4 once each: the notes alone slightly prefer C major (0.756 vs 0.712)
A_TO_G: Notes = [(p, i, i + 1) for i, p in enumerate((57, 59, 60, 62, 64, 65, 67))]
# I IV V I in D major, one bar each: D-F#-A, G-B-D, A-C#-E, D-F#-A
D_PROGRESSION: Notes = [(p, 4 * bar, 4 * bar + 4) for bar, chord in
                        enumerate(((62, 66, 69), (67, 71, 74), (69, 73, 76), (62, 66, 69))) for p in chord]  # fmt: skip
# one 4-bar segment in D major at 120 BPM (8 s): D3 held 8 beats, A4 4, D4 6, F#4 2, E4 G4 B4 C#5 1 each
D_SEGMENT: Notes = [(50, 0, 8), (69, 0, 4), (66, 4, 6), (64, 6, 7), (67, 7, 8), (71, 8, 9), (73, 9, 10),
                    (62, 10, 16)]  # fmt: skip
# its target: D3 -> C3 48 (1.0), D4 -> C4 60 (6/8), A4 -> G4 67 (4/8), F#4 -> E4 64 (2/8), 1/8 each for
# E4 -> D4 62, G4 -> F4 65, B4 -> A4 69, C#5 -> B4 71
D_SEGMENT_TARGET = {48: 1.0, 60: 0.75, 67: 0.5, 64: 0.25, 62: 0.125, 65: 0.125, 69: 0.125, 71: 0.125}

# bars 5-8 (beats 16-32): the D major scale D4..D5 up, 2 beats each; with D_SEGMENT an 8-bar D major file
D_SCALE_BARS: Notes = [(p, 16 + 2 * i, 18 + 2 * i) for i, p in enumerate((62, 64, 66, 67, 69, 71, 73, 74))]
# inputs of segment 2 (bars 5-8) = D_SEGMENT seen as the previous segment, key-relative seconds per pitch:
# C3 48: 4 s, C4 60: 3 s, G4 67: 2 s, E4 64: 1 s, D4 62 F4 65 A4 69 B4 71: 0.5 s each (12 s in all)
SECOND_SEGMENT_INPUTS = {
    2: 0.0,  # mode: D major
    3: 1.0,  # previous segment present
    # pitch classes: C 4 + 3 = 7 s (max), D E F G A B 0.5 1 0.5 2 0.5 0.5 s, of 7
    4: 1.0, 6: 0.5 / 7, 8: 1 / 7, 9: 0.5 / 7, 11: 2 / 7, 13: 0.5 / 7, 15: 0.5 / 7,
    19: 0.5, 20: 1.0,  # octaves: C3 48 in octave 4 (column 16 + 3) 4 s, the rest in octave 5: 8 s
    24: 8 / 16 / 8,  # 8 onsets over 16 beats (4 bars of 4/4), / 8
    25: (48 * 4 + 60 * 3 + 67 * 2 + 64 * 1 + (62 + 65 + 69 + 71) * 0.5) / 12 / 127,  # mean pitch 58.625
    26: (71 - 48) / 48,  # range C3..B4
    # 27 + (p - 40): D_SEGMENT's target entries 40..76
    **{27 + p - 40: value for p, value in D_SEGMENT_TARGET.items()},
}  # fmt: skip


def parsed_notes(tmp_path: Path, notes: Notes, key: str | None = None, shift: int = 0) -> dict[str, np.ndarray]:
    """Write and parse a hand-made file."""
    path = midi_sets.write_notes(tmp_path / f"n{shift}_{key}.mid", notes, key=key, shift=shift)
    return parse_midi_file(path)


def test_key_signatures_are_parsed(tmp_path: Path) -> None:
    np.testing.assert_array_equal(parsed_notes(tmp_path, A_MINOR_MELODY, "A minor")["key_signatures"], [[0.0, 21]])
    assert parsed_notes(tmp_path, A_MINOR_MELODY)["key_signatures"].shape == (0, 2)


def test_c_major_scale_is_c_major(tmp_path: Path) -> None:
    key = estimate_key(parsed_notes(tmp_path, C_MAJOR_SCALE))
    assert key == Key(tonic=0, minor=False, source="profile") and key.name == "C major" and key.shift == 0


def test_a_minor_melody_with_signature(tmp_path: Path) -> None:
    assert estimate_key(parsed_notes(tmp_path, A_MINOR_MELODY, "A minor")) == Key(9, True, "signature")
    # a signature with the right accidentals but the mode bit left at major still finds the minor tonic
    assert estimate_key(parsed_notes(tmp_path, A_MINOR_MELODY, "C major")) == Key(9, True, "signature")
    assert estimate_key(parsed_notes(tmp_path, A_MINOR_MELODY)) == Key(9, True, "profile")
    assert Key(9, True).name == "A minor" and Key(9, True).shift == -3


def test_signature_decides_between_close_keys(tmp_path: Path) -> None:
    assert estimate_key(parsed_notes(tmp_path, A_TO_G)) == Key(0, False, "profile")
    assert estimate_key(parsed_notes(tmp_path, A_TO_G, "A minor")) == Key(9, True, "signature")


def test_d_major_progression_without_signature(tmp_path: Path) -> None:
    assert estimate_key(parsed_notes(tmp_path, D_PROGRESSION)) == Key(2, False, "profile")
    # a placeholder C major signature the notes contradict (0.24 vs 0.96) is ignored
    assert estimate_key(parsed_notes(tmp_path, D_PROGRESSION, "C major")) == Key(2, False, "profile")


def test_shift_rule() -> None:
    shifts = [tonic_shift(t) for t in range(12)]
    assert shifts == [0, 1, 2, 3, 4, 5, 6, -5, -4, -3, -2, -1]  # F# (6) -> +6: F#4 66 maps to C4 60; G -> -5
    assert tonic_shift(18) == 6 and tonic_shift(-5) == -5
    assert relative_key_number(0) == 21 and relative_key_number(21) == 0 and relative_key_number(18) == 9


def test_exact_d_major_segment_target(tmp_path: Path) -> None:
    _x, y, key = melody_rows(parsed_notes(tmp_path, D_SEGMENT))
    assert key == Key(2, False, "profile") and y.shape == (1, 128) and y.dtype == np.float32
    expected = np.zeros(128, dtype=np.float32)
    for pitch, value in D_SEGMENT_TARGET.items():
        expected[pitch] = value
    np.testing.assert_array_equal(y[0], expected)
    # the plugin in D major maps the outputs back to the notes that were played
    played = from_key_frame(y[0], key.tonic)
    assert {int(p): float(played[p]) for p in np.flatnonzero(played)} == {
        50: 1.0, 62: 0.75, 69: 0.5, 66: 0.25, 64: 0.125, 67: 0.125, 71: 0.125, 73: 0.125}  # fmt: skip


@pytest.mark.parametrize("transpose", [-7, -5, -2, 1, 3, 4])
def test_transposing_a_file_keeps_the_target(tmp_path: Path, transpose: int) -> None:
    base = melody_targets(parsed_notes(tmp_path, D_SEGMENT))
    moved = parsed_notes(tmp_path, D_SEGMENT, shift=transpose)  # tonic D + t stays within shift 2 + t in -5..6
    np.testing.assert_array_equal(melody_targets(moved), base)


@pytest.mark.parametrize(("transpose", "octave"), [(5, 12), (-8, -12)])
def test_tonic_wrapping_moves_one_octave(tmp_path: Path, transpose: int, octave: int) -> None:
    base = melody_targets(parsed_notes(tmp_path, D_SEGMENT))
    moved = melody_targets(parsed_notes(tmp_path, D_SEGMENT, shift=transpose))  # D + 5 = G: shift -5, not +7
    np.testing.assert_array_equal(moved, np.roll(base, octave, axis=1))


def test_transposition_invariance_of_a_real_melody(tmp_path: Path) -> None:
    path = midi_sets.write_melody(tmp_path / "m.mid", 2)  # base D4: tonic D
    parsed = parse_midi_file(path)
    _x, base, key = melody_rows(parsed)
    assert key.name == "D major" and len(base) == 2
    moved = {**parsed, "notes": parsed["notes"] + np.array([0.0, 0.0, 3.0, 0.0])}
    np.testing.assert_array_equal(melody_targets(moved), base)


def test_load_records_keys_and_cache(tmp_path: Path) -> None:
    root = midi_sets.midi_labels(tmp_path / "labels")
    options = LoadOptions(cache_dir=tmp_path / "cache")
    ds = FORMATS["midi-labels"].load(root, "melody_transformer", options)
    again = FORMATS["midi-labels"].load(root, "melody_transformer", options)
    assert again.info["cache"]["misses"] == 0
    assert ds.info["file_keys"] == again.info["file_keys"]
    assert ds.info["file_keys"]["song2.mid"] == "D major (profile)"
    assert sum(ds.info["keys"].values()) == ds.info["files_used"] == 4
    np.testing.assert_allclose(ds.targets.max(axis=1), 1.0)


def test_melody_augmentation_is_consistent(tmp_path: Path) -> None:
    root = midi_sets.midi_labels(tmp_path / "labels")
    ds = FORMATS["midi-labels"].load(root, "melody_transformer", LoadOptions())
    moves_only = AugmentationConfig(transpose_semitones=5, tempo_scale=0.3, copies=2)
    assert augment_rows(ds, moves_only, seed=0) is ds  # no-ops in the key frame: no duplicate rows
    dropout = AugmentationConfig(transpose_semitones=5, note_dropout=0.5, copies=1)
    out = augment_rows(ds, dropout, seed=0)
    copy = out.targets[len(ds) :]
    np.testing.assert_array_equal(out.inputs[len(ds) :], ds.inputs)
    assert np.all((copy == 0) | (copy == ds.targets))  # entries are kept as they are or dropped
    np.testing.assert_array_equal(copy.argmax(axis=1), ds.targets.argmax(axis=1))
    assert np.count_nonzero(copy) < np.count_nonzero(ds.targets)


def test_exact_inputs_of_an_eight_bar_file(tmp_path: Path) -> None:
    x, y, key = melody_rows(parsed_notes(tmp_path, D_SEGMENT + D_SCALE_BARS))
    assert key.name == "D major" and x.shape == (2, 64) and x.dtype == np.float32 and len(y) == 2
    np.testing.assert_array_equal(x[0], np.zeros(64))  # first segment: no previous one, flag 0, emotion 0 (cached)
    expected = np.zeros(64)
    for column, value in SECOND_SEGMENT_INPUTS.items():
        expected[column] = value
    np.testing.assert_allclose(x[1], expected, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(x[1, PREV_WINDOW_COLUMNS], y[0, PREV_WINDOW_PITCHES])
    labelled = with_emotion(x, 0.4, -0.9)
    np.testing.assert_array_equal(labelled[:, :2], np.float32([[0.4, -0.9], [0.4, -0.9]]))
    np.testing.assert_array_equal(labelled[:, 2:], x[:, 2:])


def test_minor_mode_column(tmp_path: Path) -> None:
    x, _y, key = melody_rows(parsed_notes(tmp_path, A_MINOR_MELODY, "A minor"))
    assert key.minor and np.all(x[:, 2] == 1.0)


@pytest.mark.parametrize(
    "later",
    [
        [(p, 16 + i, 17 + i) for i, p in enumerate((74, 73, 71, 69, 67, 66))],  # other notes in segment 2
        [*D_SCALE_BARS, (62, 32, 40), (66, 33, 34), (69, 34, 35), (74, 35, 48)],  # plus a segment 3
        [(62, 16, 48), (64, 17, 18), (66, 18, 19), (69, 19, 20), (74, 40, 41)],  # held across all later bars
    ],
)
def test_inputs_never_see_the_target_segment(tmp_path: Path, later: Notes) -> None:
    base, _y, key = melody_rows(parsed_notes(tmp_path, D_SEGMENT + D_SCALE_BARS, "D major"))
    changed, _y2, key2 = melody_rows(parsed_notes(tmp_path / "later", D_SEGMENT + later, "D major"))
    assert key == key2  # the key is a file-level setting, held fixed here by its signature
    np.testing.assert_array_equal(changed[:2], base)


def test_previous_segment_counts_even_if_dropped(tmp_path: Path) -> None:
    few = [(62, 16, 20), (66, 20, 21)]  # segment 2: two notes, too few for a row
    last = [(p, 32 + i, 33 + i) for i, p in enumerate((62, 64, 66, 67))]  # segment 3: a row
    x, _y, _key = melody_rows(parsed_notes(tmp_path, D_SEGMENT + few + last, "D major"))
    assert len(x) == 2  # segments 1 and 3
    window = np.zeros(37)
    window[60 - 40], window[64 - 40] = 1.0, 0.25  # C4 (D4) 4 beats, E4 (F#4) 1 beat
    np.testing.assert_array_equal(x[1, PREV_WINDOW_COLUMNS], window)
    assert x[1, PREV_PRESENT_COLUMN] == 1.0 and x[1, 24] == pytest.approx(2 / 16 / 8)
    silent = [(p, 32 + i, 33 + i) for i, p in enumerate((62, 64, 66, 67))]  # bars 5-8 empty
    x2, _y, _key = melody_rows(parsed_notes(tmp_path / "gap", D_SEGMENT + silent, "D major"))
    assert len(x2) == 2 and x2[1, PREV_PRESENT_COLUMN] == 1.0
    np.testing.assert_array_equal(x2[1, 4:], np.zeros(60))


def test_window_equals_previous_target(tmp_path: Path) -> None:
    x, y, _key = melody_rows(parse_midi_file(midi_sets.write_melody(tmp_path / "m.mid", 1, bars=16)))
    assert len(x) == 4 and np.all(x[1:, PREV_PRESENT_COLUMN] == 1.0)
    np.testing.assert_array_equal(x[1:, PREV_WINDOW_COLUMNS], y[:-1, PREV_WINDOW_PITCHES])


def test_subsampling_keeps_the_true_previous_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = parse_midi_file(midi_sets.write_melody(tmp_path / "m.mid", 3, bars=16))
    full_x, full_y, _key = melody_rows(parsed)
    monkeypatch.setattr(melody, "MAX_SEGMENTS", 2)
    x, y, _key = melody_rows(parsed)  # rows of segments 1 and 4
    np.testing.assert_array_equal(x, full_x[[0, 3]])
    np.testing.assert_array_equal(y, full_y[[0, 3]])
    assert not np.array_equal(x[1, PREV_WINDOW_COLUMNS], y[0, PREV_WINDOW_PITCHES])


@pytest.mark.parametrize("transpose", [-7, -2, 3, 4])
def test_transposing_a_file_keeps_inputs_and_targets(tmp_path: Path, transpose: int) -> None:
    base_x, base_y, _key = melody_rows(parsed_notes(tmp_path, D_SEGMENT + D_SCALE_BARS))
    x, y, key = melody_rows(parsed_notes(tmp_path, D_SEGMENT + D_SCALE_BARS, shift=transpose))
    assert key.tonic == (2 + transpose) % 12
    np.testing.assert_array_equal(x, base_x)
    np.testing.assert_array_equal(y, base_y)


def test_tempo_keeps_inputs(tmp_path: Path) -> None:
    base_x, _y, _key = melody_rows(parsed_notes(tmp_path, D_SEGMENT + D_SCALE_BARS))
    path = midi_sets.write_notes(tmp_path / "slow.mid", D_SEGMENT + D_SCALE_BARS, bpm=90.0)
    np.testing.assert_allclose(melody_rows(parse_midi_file(path)).inputs, base_x, rtol=1e-6)


def test_loaded_inputs_carry_the_label(tmp_path: Path) -> None:
    root = midi_sets.midi_labels(tmp_path / "labels")
    ds = FORMATS["midi-labels"].load(root, "melody_transformer", LoadOptions())
    assert ds.inputs.shape[1] == 64 and ds.groups is not None
    labels = {(0.8, 0.6), (-0.7, 0.4), (-0.2, -0.9), (0.3, -0.3)}
    assert {(round(float(v), 4), round(float(a), 4)) for v, a in ds.inputs[:, :2]} == labels
    for g in np.unique(ds.groups):
        rows = ds.inputs[ds.groups == g]
        assert np.all(rows[:, :3] == rows[0, :3]) and rows[0, PREV_PRESENT_COLUMN] == 0.0
        assert np.all(rows[1:, PREV_PRESENT_COLUMN] == 1.0)


def test_synthetic_inputs_follow_the_layout() -> None:
    ds = make_synthetic("melody_transformer", 256, 0)
    x = ds.inputs
    assert x.shape == (256, 64) and np.all(x[:, 2] == (x[:, 0] <= 0))
    absent = x[:, PREV_PRESENT_COLUMN] == 0
    assert 0 < absent.sum() < 64 and np.all(x[absent, 4:] == 0)
    assert x[:, 2:].min() >= 0 and x[:, 2:].max() <= 1
    np.testing.assert_array_equal(make_synthetic("melody_transformer", 256, 0).inputs, x)
