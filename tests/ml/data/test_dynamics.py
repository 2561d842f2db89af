"""dynamics_engine: exact causal inputs on hand-made MIDI, the lookahead option, the beat-grid rule, augmentation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from ml.config import AugmentationConfig
from ml.data import FORMATS, LoadOptions
from ml.data.symbolic.augment import augment_rows
from ml.data.symbolic.dynamics import (
    BEAT_COLUMNS,
    GRID_COLUMN,
    GRID_TARGETS,
    N_INPUTS,
    RECENT_VELOCITY_COLUMN,
    SETTINGS,
    dynamics_rows,
    grid_alignment,
    grid_is_usable,
)
from ml.data.symbolic.midi import parse_midi_file
from ml.dataset import ArrayDataset
from tests.fixtures import midi_sets

Note = tuple[int, float, float, int]  # pitch, start beat, end beat, velocity


def _parse(path: Path, notes: list[Note], bpm: float = 120.0) -> dict[str, np.ndarray]:
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=bpm)
    piano = pretty_midi.Instrument(program=0)
    beat = 60.0 / bpm
    for pitch, start, end, velocity in notes:
        piano.notes.append(pretty_midi.Note(velocity, pitch, start * beat, end * beat))
    pm.instruments.append(piano)
    pm.write(str(path))
    return parse_midi_file(path)


def _row(values: dict[int, float]) -> list[float]:
    assert sorted(values) == list(range(N_INPUTS))
    return [values[i] for i in range(N_INPUTS)]


# A two-note chord (C4 + E4) on beat 0, G4 on beat 1, C5 on beat 2.5, at 120 BPM.
SMALL: list[Note] = [(60, 0, 1, 60), (64, 0, 1, 70), (67, 1, 2, 80), (72, 2.5, 3, 90)]
# A 3-note chord (C4 E4 G4, held 2 beats) on beat 0, then a melody C5 (beat 1), D5 (beat 1.5), E5 (beat 2.5).
CHORD_MELODY: list[Note] = [
    (60, 0, 2, 50), (64, 0, 2, 60), (67, 0, 2, 70), (72, 1, 1.5, 80), (74, 1.5, 2, 90), (76, 2.5, 3, 100),
]  # fmt: skip


def test_settings_version_bumped_for_the_new_layout() -> None:
    assert SETTINGS["version"] == 3 and SETTINGS["kind"] == "dynamics_engine"


def test_exact_inputs_and_targets_of_a_melody_note(tmp_path: Path) -> None:
    rows = dynamics_rows(_parse(tmp_path / "s.mid", SMALL))
    assert rows.beat_grid
    x = rows.inputs[2].astype(np.float64)  # G4: sees C4 and E4 (earlier onsets) and itself
    mean = (60 + 64 + 67) / 3
    expected = {
        0: 67 / 127, 1: 27 / 48, 2: 1.0, 3: 1 / 8, 4: 1.0, 5: 1.0, 6: 1 / 10, 7: 3 / 20, 8: 0.5 / 2,
        9: 0.5 / 2, 10: 0.0, 11: 0.25, 12: 0.0, 13: 120 / 240, 14: 70 / 127, 15: 60 / 127, 16: 0.0, 17: 0.0,
        18: 64 / 127, 19: 60 / 127, 20: 0.0, 21: 0.0, 22: mean / 127, 23: 7 / 48, 24: (67 - mean + 24) / 48,
        25: 0.0, 26: 3 / 40, 27: 1.0, 28: 0.5, 29: 0.5, 30: 65 / 127, 31: (70 - 60 + 127) / 254,
    }  # fmt: skip
    assert x.tolist() == pytest.approx(_row(expected), abs=1e-6)
    y = rows.targets[2].astype(np.float64)
    assert y[0] == pytest.approx(80 / 127) and y[1] == pytest.approx(0.5)  # on the 16th grid
    assert y[2] == pytest.approx(0.5 / 0.75 / 2)  # held 0.5 s of the 0.75 s until the next onset
    assert y[3] == pytest.approx(0.5 / 4) and y[4] == pytest.approx((80 - 70 + 64) / 128)


def test_exact_rows_of_a_three_note_chord_and_a_melody(tmp_path: Path) -> None:
    rows = dynamics_rows(_parse(tmp_path / "cm.mid", CHORD_MELODY))
    assert rows.beat_grid
    x = rows.inputs.astype(np.float64)
    # C4, the chord's first note: hears nothing but itself; on the downbeat of bar 1.
    c4 = {
        0: 60 / 127, 1: 0.5, 2: 1.0, 3: 1 / 8, 4: 1.0, 5: 1.0, 6: 1 / 10, 7: 1 / 20, 8: 0.0, 9: 0.0, 10: 0.0,
        11: 0.0, 12: 1.0, 13: 0.5, 14: 0.0, 15: 0.0, 16: 0.0, 17: 0.0, 18: 0.0, 19: 0.0, 20: 0.0, 21: 0.0,
        22: 60 / 127, 23: 0.0, 24: 0.5, 25: 0.0, 26: 1 / 40, 27: 1.0, 28: 0.5, 29: 1.0, 30: 0.0, 31: 0.5,
    }  # fmt: skip
    assert x[0].tolist() == pytest.approx(_row(c4), abs=1e-6)
    for i, pitch in ((1, 64), (2, 67)):  # E4, G4 struck with C4: causal, so each is "a chord of one so far"
        assert x[i].tolist() == pytest.approx(_row({**c4, 0: pitch / 127, 22: pitch / 127}), abs=1e-6)
    # D5 on beat 1.5 (0.75 s): C5 (ended at 0.75 s) is released, the chord still sounds.
    mean = (60 + 64 + 67 + 72 + 74) / 5
    d5 = {
        0: 74 / 127, 1: 26 / 48, 2: 1.0, 3: 1 / 8, 4: 1.0, 5: 1.0, 6: 4 / 10, 7: 5 / 20, 8: 0.25 / 2,
        9: 0.375 / 2, 10: 0.5, 11: 0.375, 12: 0.0, 13: 0.5, 14: 80 / 127, 15: 70 / 127, 16: 60 / 127,
        17: 50 / 127, 18: 72 / 127, 19: 67 / 127, 20: 64 / 127, 21: 60 / 127, 22: mean / 127, 23: 14 / 48,
        24: (74 - mean + 24) / 48, 25: 0.0, 26: 5 / 40, 27: 1.0, 28: 0.5 + 0.5 * math.sin(math.pi),
        29: 0.5 + 0.5 * math.cos(2 * math.pi * 0.375), 30: 65 / 127, 31: (80 - 70 + 127) / 254,
    }  # fmt: skip
    assert x[4].tolist() == pytest.approx(_row(d5), abs=1e-6)
    # E5 on beat 2.5 (1.25 s): everything before has ended; the past window is C5, D5 and itself.
    e5 = {
        0: 76 / 127, 1: 26 / 48, 2: 1.0, 3: 1 / 8, 4: 1.0, 5: 1.0, 6: 1 / 10, 7: 3 / 20, 8: 0.5 / 2,
        9: 0.5 / 2, 10: 0.5, 11: 0.625, 12: 0.0, 13: 0.5, 14: 90 / 127, 15: 80 / 127, 16: 70 / 127,
        17: 60 / 127, 18: 74 / 127, 19: 72 / 127, 20: 67 / 127, 21: 64 / 127, 22: 74 / 127, 23: 4 / 48,
        24: (76 - 74 + 24) / 48, 25: 0.0, 26: 6 / 40, 27: 1.0, 28: 0.5 + 0.5 * math.sin(math.pi),
        29: 0.5 + 0.5 * math.cos(2 * math.pi * 0.625), 30: 70 / 127, 31: (90 - 80 + 127) / 254,
    }  # fmt: skip
    assert x[5].tolist() == pytest.approx(_row(e5), abs=1e-6)
    assert x[:, RECENT_VELOCITY_COLUMN].tolist() == pytest.approx([0, 0, 0, 60 / 127, 65 / 127, 70 / 127])
    y = rows.targets.astype(np.float64)
    assert y[:, 0].tolist() == pytest.approx([v / 127 for *_, v in CHORD_MELODY])
    assert y[:, 1].tolist() == pytest.approx([0.5] * 6) and y[:, 12].tolist() == pytest.approx([0.5] * 6)
    assert y[0, 2] == pytest.approx(1.0 / 0.5 / 2) and y[0, 3] == pytest.approx(0.25)  # 1 s held, next onset 0.5 s
    # local = onsets in [-1 s, 1 s]: the chord, C5 and D5 (velocities 50-90, mean 70)
    assert y[0, 5] == pytest.approx((50 - 70 + 64) / 128) and y[0, 6] == pytest.approx((50 - 60 + 32) / 64)
    assert y[0, 10] == pytest.approx(1.0) and y[0, 11] == pytest.approx((50 - 70 + 64) / 128)
    assert y[0, 13] == pytest.approx(40 / 127) and y[1, 4] == pytest.approx((60 - 50 + 64) / 128)
    assert y[3, 8] == pytest.approx(0.25 / 0.5 / 2) and y[5, 5] == pytest.approx((100 - 90 + 64) / 128)
    assert y[5, 9] == pytest.approx((100 - 75 + 64) / 128) and y[5, 14] == 0.0 and y[5, 15] == 0.0


def test_lookahead_lets_chord_mates_count_and_leaves_history_alone(tmp_path: Path) -> None:
    parsed = _parse(tmp_path / "cm.mid", CHORD_MELODY)
    causal = dynamics_rows(parsed).inputs.astype(np.float64)
    ahead = dynamics_rows(parsed, lookahead_seconds=0.05).inputs.astype(np.float64)
    mean = (60 + 64 + 67) / 3
    for i, pitch, top, bottom in ((0, 60, 0.0, 1.0), (1, 64, 0.0, 0.0), (2, 67, 1.0, 0.0)):
        assert ahead[i, [3, 4, 5, 6, 7, 22, 23, 24, 26]].tolist() == pytest.approx(
            [3 / 8, top, bottom, 3 / 10, 3 / 20, mean / 127, 7 / 48, (pitch - mean + 24) / 48, 3 / 40]
        )
    np.testing.assert_array_equal(ahead[3:], causal[3:])  # the melody notes have no note within 50 ms after them
    history = [1, 8, 9, 14, 15, 16, 17, 18, 19, 20, 21, 25, 27, 30, 31]
    np.testing.assert_array_equal(ahead[:, history], causal[:, history])  # "prev" never looks ahead
    e4 = dynamics_rows(_parse(tmp_path / "s.mid", SMALL)).inputs[1]  # starts with C4: not heard yet
    assert (e4[1], e4[3], e4[4], e4[5], e4[6], e4[14], e4[RECENT_VELOCITY_COLUMN]) == (0.5, 0.125, 1, 1, 0.1, 0, 0)


def _random_on_grid(seed: int, count: int) -> list[Note]:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, 4 * 40, count)) / 4  # on 16ths over 40 beats
    return [(int(rng.integers(40, 90)), float(s), float(s) + 0.5, int(rng.integers(30, 120))) for s in starts]


@pytest.mark.parametrize("lookahead", [0.0, 0.03, 0.05])
def test_changing_only_future_notes_leaves_earlier_rows_identical(tmp_path: Path, lookahead: float) -> None:
    notes = _random_on_grid(0, 120)
    cut = 20.0  # beats (10 s): notes starting after it are "the future"; the next 16th is 62.5 ms later
    future = [n for n in notes if n[1] > cut]
    changed = [(p + 5, s, e, max(1, v - 20)) for p, s, e, v in future[::2]]  # new pitch and velocity
    added = [(50, cut + 0.25, cut + 1, 100), (55, 39.0, 39.5, 10), (61, cut + 0.25, cut + 3, 127)]
    edited = [n for n in notes if n[1] <= cut] + changed + added  # future[1::2] removed
    before = dynamics_rows(_parse(tmp_path / "a.mid", notes), lookahead, max_notes=10_000)
    after = dynamics_rows(_parse(tmp_path / "b.mid", edited), lookahead, max_notes=10_000)
    assert before.beat_grid and after.beat_grid
    early = sum(1 for _, s, _, _ in notes if s <= cut)
    assert 0 < early < len(notes) < 256  # all rows kept: the even subsampling is not in play
    np.testing.assert_array_equal(before.inputs[:early], after.inputs[:early])
    assert not np.array_equal(before.inputs[early:], after.inputs[early : early + len(future)])


def _free_timing() -> list[Note]:
    """30 notes every 0.3 s from 0.1 s (0.6 beat apart at 120 BPM): off both the 16th and the triplet grid."""
    return [(60 + k % 5, (0.1 + 0.3 * k) * 2, (0.3 + 0.3 * k) * 2, 50 + 2 * k) for k in range(30)]


def test_beat_grid_rule_on_hand_made_timings(tmp_path: Path) -> None:
    beats = np.arange(0, 100) * 0.5
    sixteenths = np.arange(0, 64) * 0.125
    assert grid_alignment(sixteenths, beats) == pytest.approx((0.0, 1 / 12))
    triplets = np.arange(0, 48) / 6.0  # 8th triplets: 1/3 beat at 120 BPM
    assert grid_alignment(triplets, beats) == pytest.approx((1 / 18, 0.0))  # off the 16th grid, on the triplet one
    assert grid_is_usable(sixteenths, beats) and grid_is_usable(triplets, beats)
    free = np.array([0.1 + 0.3 * k for k in range(30)])  # 16th phases cycle 0.8 0.2 0.6 0 0.4, triplet 0.6 ...
    assert grid_alignment(free, beats) == pytest.approx((0.06, 0.08))
    assert not grid_is_usable(free, beats) and not grid_is_usable(sixteenths, beats[:1])
    late = sixteenths + 0.03 * 0.5  # played 0.03 beat behind a click everywhere: still a grid
    assert grid_is_usable(late, beats) and not grid_is_usable(sixteenths + 0.05 * 0.5, beats)
    chords = np.repeat(free, 20)  # the rule counts distinct onsets, so chords weigh as one
    assert grid_alignment(chords, beats) == pytest.approx(grid_alignment(free, beats))
    rows = dynamics_rows(_parse(tmp_path / "trip.mid", [(60 + k % 7, k / 3, k / 3 + 0.3, 80) for k in range(24)]))
    assert rows.beat_grid and (rows.inputs[:, GRID_COLUMN] == 1).all()


def test_a_file_without_a_real_beat_grid_masks_beat_inputs_and_grid_targets(tmp_path: Path) -> None:
    rows = dynamics_rows(_parse(tmp_path / "free.mid", _free_timing()))
    assert not rows.beat_grid
    assert (rows.inputs[:, GRID_COLUMN] == 0).all() and (rows.inputs[:, list(BEAT_COLUMNS)] == 0).all()
    assert (rows.targets[:, list(GRID_TARGETS)] == 0.5).all()
    x = rows.inputs[10].astype(np.float64)  # onset 3.1 s, pitch 60, velocity 70; prev: 64 63 62 61 ...
    mean = (62 + 63 + 64 + 60) / 4  # past window [2.1 s, 3.1 s]: notes 7, 8, 9 and itself
    masked = {
        0: 60 / 127, 1: 20 / 48, 2: 0.0, 3: 1 / 8, 4: 1.0, 5: 1.0, 6: 1 / 10, 7: 4 / 20, 8: 0.3 / 2, 9: 0.3 / 2,
        10: 0.0, 11: 0.0, 12: 0.0, 13: 0.0, 14: 68 / 127, 15: 66 / 127, 16: 64 / 127, 17: 62 / 127,
        18: 64 / 127, 19: 63 / 127, 20: 62 / 127, 21: 61 / 127, 22: mean / 127, 23: 4 / 48,
        24: (60 - mean + 24) / 48, 25: 0.0, 26: 11 / 40, 27: 1.5 / 4, 28: 0.0, 29: 0.0, 30: 61 / 127,
        31: (68 - 66 + 127) / 254,
    }  # fmt: skip
    assert x.tolist() == pytest.approx(_row(masked), abs=1e-6)
    y = rows.targets[10].astype(np.float64)
    assert y[[0, 1, 2, 3, 12]].tolist() == pytest.approx([70 / 127, 0.5, 0.2 / 0.3 / 2, 0.2 / 4, 0.5])
    rng = np.random.default_rng(3)
    starts = np.sort(rng.uniform(0, 60, 150))  # a performance recorded without a click: nominal 120 BPM grid
    notes = [(int(rng.integers(40, 90)), float(s), float(s) + 0.3, 70) for s in starts]
    assert not dynamics_rows(_parse(tmp_path / "random.mid", notes)).beat_grid
    on_grid = dynamics_rows(_parse(tmp_path / "grid.mid", _random_on_grid(1, 150)))
    assert on_grid.beat_grid and (on_grid.inputs[:, GRID_COLUMN] == 1).all()


def test_loader_reports_grids_and_writes_the_lookahead_into_export_metadata(tmp_path: Path) -> None:
    root = midi_sets.midi_folder(tmp_path / "perf")
    midi_sets.write_notes(root / "free.mid", [(60 + k % 5, 0.1 + 0.3 * k, 0.3 + 0.3 * k) for k in range(30)])
    data = FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions(lookahead_seconds=0.05))
    grid = data.info["beat_grid"]
    assert grid == {"files_with_grid": 4, "files_without_grid": 1}
    assert data.info["export_metadata"] == {"lookahead_seconds": 0.05, "causal": False, "beat_grid": grid}
    causal = FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions(cache_dir=tmp_path / "c"))
    assert causal.info["export_metadata"]["causal"] is True
    assert causal.info["export_metadata"]["lookahead_seconds"] == 0.0
    ahead = FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions(cache_dir=tmp_path / "c",
                                                                             lookahead_seconds=0.05))  # fmt: skip
    np.testing.assert_array_equal(ahead.inputs, data.inputs)  # the cache keys on the lookahead
    assert not np.array_equal(ahead.inputs[:, 3], causal.inputs[:, 3])  # the left-hand chords now count
    np.testing.assert_array_equal(ahead.targets, causal.targets)  # targets never depend on the lookahead


def test_tempo_augmentation_scales_seconds_and_keeps_none_values() -> None:
    x = np.zeros((1, N_INPUTS), dtype=np.float32)
    x[0, [0, 8, 9, 13, 18, 27]] = [0.5, 0.2, 0.4, 0.5, 0.0, 1.0]
    y = np.full((1, 16), 0.5, dtype=np.float32)
    y[0, [3, 7, 10]] = [0.2, 0.6, 0.7]
    data = ArrayDataset(model_key="dynamics_engine", inputs=x, targets=y)
    out = augment_rows(data, AugmentationConfig(tempo_scale=0.5, copies=1), seed=0)
    s = out.inputs[1, 13] / 0.5  # the drawn tempo factor
    assert s != 1.0
    assert out.inputs[1, [0, 8, 9, 18, 27]].tolist() == pytest.approx([0.5, 0.2 / s, 0.4 / s, 0.0, 1.0])
    assert out.targets[1, [3, 7, 10]].tolist() == pytest.approx([0.2 / s, min(0.6 / s, 1.0), 0.5 + 0.2 / s])
