"""Repeats of one chord progression (in any key) share a split group, so a copy cannot sit on both sides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.data import LoadOptions
from ml.data.symbolic.chords_json import FORMAT
from ml.data.symbolic.harmony import progression_groups


def test_progression_groups_merge_transposed_and_repeated_copies() -> None:
    c_major = [0, 5, 7, 0]  # C F G C as classes (maj roots 0, 5, 7)
    d_major = [2, 7, 9, 2]  # the same progression a tone up
    with_repeats = [0, 0, 5, 7, 7, 0]  # the same once repeats merge
    other = [12, 5, 7, 12]  # Cm F G Cm
    assert progression_groups([c_major, d_major, with_repeats, other]) == [0, 0, 0, 1]


def test_chords_json_loader_groups_duplicate_tunes(tmp_path: Path) -> None:
    tunes = [
        {"chords": ["C", "F", "G", "C"], "emotion": {"valence": 0.5, "arousal": 0.1}},
        {"chords": ["D", "G", "A", "D"], "emotion": {"valence": 0.5, "arousal": 0.1}},
        {"chords": ["Am", "Dm", "E7", "Am"], "emotion": {"valence": -0.5, "arousal": 0.0}},
    ]
    (tmp_path / "progressions.json").write_text(json.dumps({"progressions": tunes}))
    data = FORMAT.load(tmp_path, "harmony_predictor", LoadOptions())
    assert data.groups is not None
    assert data.groups.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert np.unique(data.groups).tolist() == [0, 1]


def test_an_unknown_symbol_is_a_break_not_a_lost_tune(tmp_path: Path) -> None:
    tunes = [{"chords": ["C", "F", "G", "Qx7", "Am", "Dm", "G7", "Qx7", "Hm"], "emotion": [0.5, 0.0]}]
    (tmp_path / "p.json").write_text(json.dumps({"progressions": tunes}))
    report = FORMAT.scan(tmp_path)
    assert report.usable == 1
    assert report.warnings[0] == "3 chord symbol(s) not in the vocabulary, treated as N.C.: 'Qx7' x2, 'Hm' x1"
    data = FORMAT.load(tmp_path, "harmony_predictor", LoadOptions())
    # C->F, F->G before the break and Am->Dm, Dm->G7 after it; no pair crosses the unknown symbol
    assert data.targets.argmax(axis=1).tolist() == [5, 7, 14, 31]
    assert data.inputs[2, 64:].tolist().count(0.0) == 63  # the context restarts after the break: Am alone


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [("B07", 48 + 11), ("C0", 48), ("Cm/maj7", 12), ("Bbm/maj7", 12 + 10), ("Gmb6", 12 + 7), ("C/E", 0)],
)
def test_spellings_of_ireal_exports(symbol: str, expected: int) -> None:
    from ml.data.symbolic.chords import parse_chord

    assert parse_chord(symbol) == expected


@pytest.mark.parametrize(("key", "valence"), [("G-", -0.6), ("Gm", -0.6), ("Cmin", -0.6), ("Bb", 0.6), ("F", 0.6)])
def test_jazz_key_modes(key: str, valence: float) -> None:
    from ml.data.symbolic.jazz_standards import song_valence

    assert song_valence(key) == valence
