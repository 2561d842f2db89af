"""`mltrain datasets features`: the trainer's exact rows, groups and split labels, and uninformative columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.cli.main import main
from ml.config import TrainConfig
from ml.data import LoadOptions
from ml.data.symbolic.chords_json import FORMAT
from ml.train.split import split_dataset
from tests.fixtures import midi_sets


def test_features_writes_the_rows_the_trainer_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = midi_sets.chords_json(tmp_path / "chords")
    out = tmp_path / "rows.npz"
    args = ["datasets", "features", str(root), "--model", "harmony_predictor", "--output", str(out), "--seed", "7"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = np.load(out)
    loaded = FORMAT.load(root, "harmony_predictor", LoadOptions())
    assert np.array_equal(rows["inputs"], loaded.inputs) and np.array_equal(rows["targets"], loaded.targets)
    assert np.array_equal(rows["groups"], loaded.groups)  # type: ignore[arg-type]
    split = split_dataset(loaded, TrainConfig().val_split, 7, TrainConfig().test_split)
    assert np.flatnonzero(rows["split"] == "test").tolist() == split.test.tolist()
    assert np.flatnonzero(rows["split"] == "validation").tolist() == split.validation.tolist()
    assert set(rows["split"].tolist()) == {"train", "validation", "test"}
    assert f"wrote {out}: {len(loaded)} rows from 3 groups" in printed
    # three short tunes touch few of the 64 chord classes: the other context columns never move
    assert "inputs constant on this data (carry nothing): [65, 66, 67, 68, 70, 72," in printed


def test_features_json_and_a_too_small_data_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "two"
    root.mkdir()
    tunes = [{"chords": ["C", "F", "G"], "emotion": [0.5, 0.0]}, {"chords": ["Am", "E7", "Am"], "emotion": [-0.5, 0.0]}]
    (root / "p.json").write_text(json.dumps({"progressions": tunes}))
    args = ["datasets", "features", str(root), "--model", "harmony_predictor", "--output", str(tmp_path / "r.npz")]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "2 source file(s) or song(s) cannot give separate train, validation and test sets" in err
    assert "Traceback" not in err and not (tmp_path / "r.npz").exists()
    big = midi_sets.chords_json(tmp_path / "big")
    assert main(["datasets", "features", str(big), "--model", "harmony_predictor", "--json", "--output",
                 str(tmp_path / "ok.npz")]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["splits"]["source"] == "seeded by group" and summary["rows"] == 10
    constant_targets = summary["columns"]["targets"]["constant"]
    assert 1 in constant_targets and 0 not in constant_targets  # no tune moves to C# major; G -> C does occur
