"""evaluation.json scores the held-out test rows, and its baselines are fitted on the training rows only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.baselines import fit_baselines
from ml.cli.main import main
from ml.config import TrainConfig
from ml.pipeline import DataSource, run_evaluation, run_training
from ml.scoring import output_loss


def _progressions(root: Path, count: int = 12) -> Path:
    """`count` distinct tunes (chords-json), half major with positive valence, half minor with negative."""
    major = ["C", "F", "G", "Am", "Dm", "Em", "G7"]
    minor = ["Am", "Dm", "E7", "F", "G", "C", "Bdim"]
    tunes = []
    for i in range(count):
        pool, valence = (major, 0.6) if i % 2 == 0 else (minor, -0.6)
        chords = [pool[(i * 3 + j * (1 + i % 3)) % len(pool)] for j in range(12)]
        tunes.append({"chords": chords, "emotion": {"valence": valence, "arousal": (i % 5) / 5 - 0.4}})
    root.mkdir(parents=True)
    (root / "tunes.json").write_text(json.dumps({"progressions": tunes}))
    return root


def test_evaluation_is_on_test_rows_with_baselines_fitted_on_train_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _progressions(tmp_path / "tunes")
    config = TrainConfig(epochs=3, batch_size=16, seed=5)
    summary = run_training("harmony_predictor", DataSource(datasets_dir=root), config, tmp_path / "run")
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())["harmony_predictor"]
    assert main(["datasets", "features", str(root), "--model", "harmony_predictor", "--seed", "5",
                 "--output", str(tmp_path / "rows.npz")]) == 0  # fmt: skip
    rows = np.load(tmp_path / "rows.npz")
    train, test = rows["split"] == "train", rows["split"] == "test"
    assert evaluation["samples"] == int(test.sum()) == evaluation["splits"]["test"]
    assert set(rows["groups"][train].tolist()).isdisjoint(rows["groups"][test].tolist())
    for baseline in fit_baselines("harmony_predictor", rows["inputs"][train], rows["targets"][train]):
        expected = output_loss("harmony_predictor", baseline.predict(rows["inputs"][test]), rows["targets"][test])
        assert evaluation["baselines"][baseline.name]["loss"] == pytest.approx(expected, rel=1e-12)
    losses = {name: b["loss"] for name, b in evaluation["baselines"].items()}
    best = min(losses, key=losses.__getitem__)
    assert evaluation["skill"]["best_baseline"] == best
    assert evaluation["skill"]["value"] == pytest.approx(1 - evaluation["test_loss"] / losses[best])
    assert summary.models["harmony_predictor"].evaluation["skill"] == evaluation["skill"]["value"]  # type: ignore[index]

    # `mltrain evaluate` on the same folder rebuilds the same split from the checkpoint's config.
    again = run_evaluation(tmp_path / "run", DataSource(datasets_dir=root), tmp_path / "ev.json", latency_runs=5)
    assert again["harmony_predictor"]["test_loss"] == pytest.approx(evaluation["test_loss"], rel=1e-6)
    assert again["harmony_predictor"]["baselines"]["bigram"]["loss"] == evaluation["baselines"]["bigram"]["loss"]
