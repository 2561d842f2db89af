"""Repeats of one chord progression (in any key) share a split group, so a copy cannot sit on both sides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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
