"""dynamics_engine: exact causal inputs on hand-made MIDI, the lookahead option, and the beat-grid rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from ml.data import FORMATS, LoadOptions
from ml.data.symbolic.dynamics import BEAT_COLUMNS, GRID_COLUMN, RECENT_VELOCITY_COLUMN, dynamics_rows
from ml.data.symbolic.midi import parse_midi_file
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


# A two-note chord (C4 + E4) on beat 0, G4 on beat 1, C5 on beat 2.5, at 120 BPM.
SMALL: list[Note] = [(60, 0, 1, 60), (64, 0, 1, 70), (67, 1, 2, 80), (72, 2.5, 3, 90)]


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
    assert x.tolist() == pytest.approx([expected[i] for i in range(32)], abs=1e-6)
    y = rows.targets[2].astype(np.float64)
    assert y[0] == pytest.approx(80 / 127) and y[1] == pytest.approx(0.5)  # on the 16th grid
    assert y[2] == pytest.approx(0.5 / 0.75 / 2)  # held 0.5 s of the 0.75 s until the next onset
    assert y[3] == pytest.approx(0.5 / 4) and y[4] == pytest.approx((80 - 70 + 64) / 128)


def test_a_chord_mate_is_invisible_without_lookahead_and_visible_with_it(tmp_path: Path) -> None:
    parsed = _parse(tmp_path / "s.mid", SMALL)
    causal = dynamics_rows(parsed).inputs
    e4 = causal[1]  # starts with C4: not strictly earlier, so not heard yet
    assert (e4[1], e4[3], e4[4], e4[5], e4[6], e4[14], e4[RECENT_VELOCITY_COLUMN]) == (0.5, 0.125, 1, 1, 0.1, 0, 0)
    ahead = dynamics_rows(parsed, lookahead_seconds=0.05).inputs
    assert ahead[1][3] == 0.25 and ahead[1][4] == 1.0 and ahead[1][5] == 0.0  # E4 is the top of a 2-note chord
    assert ahead[0][3] == 0.25 and ahead[0][4] == 0.0 and ahead[0][5] == 1.0  # C4 sees E4 arriving with it
    history = [1, 8, 14, 15, 18, 19, 25, 27, 30, 31]
    np.testing.assert_array_equal(ahead[:, history], causal[:, history])  # history never looks ahead


def _random_on_grid(seed: int, count: int) -> list[Note]:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, 4 * 40, count)) / 4  # on 16ths over 40 beats
    return [(int(rng.integers(40, 90)), float(s), float(s) + 0.5, int(rng.integers(30, 120))) for s in starts]


def test_changing_only_future_notes_leaves_earlier_rows_identical(tmp_path: Path) -> None:
    notes = _random_on_grid(0, 120)
    cut = 20.0  # beats: notes starting after it are "the future"
    future_changed = [
        (p + 5, s, e, max(1, v - 20)) if s > cut else (p, s, e, v) for p, s, e, v in notes
    ] + [(50, cut + 0.25, cut + 1, 100), (55, 39.0, 39.5, 10)]  # fmt: skip
    for lookahead in (0.0, 0.03):
        before = dynamics_rows(_parse(tmp_path / "a.mid", notes), lookahead, max_notes=10_000)
        after = dynamics_rows(_parse(tmp_path / "b.mid", future_changed), lookahead, max_notes=10_000)
        assert before.beat_grid and after.beat_grid
        early = sum(1 for _, s, _, _ in notes if s <= cut)
        np.testing.assert_array_equal(before.inputs[:early], after.inputs[:early])
        assert not np.array_equal(before.inputs[early:], after.inputs[early : len(notes)])


def test_a_file_without_a_real_beat_grid_masks_beat_inputs_and_grid_targets(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    starts = np.sort(rng.uniform(0, 60, 150))  # a performance recorded without a click: nominal 120 BPM grid
    notes = [(int(rng.integers(40, 90)), float(s), float(s) + 0.3, 70) for s in starts]
    rows = dynamics_rows(_parse(tmp_path / "free.mid", notes))
    assert not rows.beat_grid
    assert (rows.inputs[:, GRID_COLUMN] == 0).all() and (rows.inputs[:, list(BEAT_COLUMNS)] == 0).all()
    assert (rows.targets[:, 1] == 0.5).all() and (rows.targets[:, 12] == 0.5).all()
    on_grid = dynamics_rows(_parse(tmp_path / "grid.mid", _random_on_grid(1, 150)))
    assert on_grid.beat_grid and (on_grid.inputs[:, GRID_COLUMN] == 1).all()


def test_loader_reports_grids_and_writes_the_lookahead_into_export_metadata(tmp_path: Path) -> None:
    root = midi_sets.midi_folder(tmp_path / "perf")
    data = FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions(lookahead_seconds=0.03))
    grid = data.info["beat_grid"]
    assert grid["files_with_grid"] + grid["files_without_grid"] == data.info["files_used"]
    assert data.info["export_metadata"] == {"lookahead_seconds": 0.03, "causal": False, "beat_grid": grid}
    causal = FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions(cache_dir=tmp_path / "c"))
    assert causal.info["export_metadata"]["causal"] is True
    ahead = FORMATS["midi-folder"].load(root, "dynamics_engine", LoadOptions(cache_dir=tmp_path / "c",
                                                                             lookahead_seconds=0.03))  # fmt: skip
    np.testing.assert_array_equal(ahead.inputs, data.inputs)  # the cache keys on the lookahead
