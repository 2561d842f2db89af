"""Every model trains for a few epochs on its real-format fixture, through --datasets-dir detection, and exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.cli.main import main
from ml.export import load_rtneural
from ml.models import MODEL_KEYS
from tests.fixtures import midi_sets
from tests.fixtures.audio_sets import write_deam

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def datasets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder holding a data set per model, each in its published layout (as a user's ~/datasets would)."""
    root = tmp_path_factory.mktemp("datasets")
    write_deam(root / "DEAM")
    midi_sets.emopia(root / "EMOPIA")
    midi_sets.chords_json(root / "chords")
    midi_sets.maestro(root / "maestro-v3.0.0")
    midi_sets.groove_midi(root / "gmd")
    return root


def test_train_all_models_on_real_format_data_and_export(datasets_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["train", "--model", "all", "--datasets-dir", str(datasets_dir), "--output", str(out)]
    assert main([*argv, "--epochs", "3", "--batch-size", "16", "--cache-dir", str(tmp_path / "cache")]) == 0
    report = json.loads((out / "export_report.json").read_text())
    evaluation = json.loads((out / "evaluation.json").read_text())
    for key in MODEL_KEYS:
        doc = load_rtneural(out / f"{key}.json")
        assert doc["metadata"]["data_source"] != "synthetic"
        assert report[key]["passed"] and report[key]["max_abs_error"] < 1e-5
        assert evaluation[key]["samples"] > 0
    assert evaluation["dynamics_engine"]["split"] == "test"  # MAESTRO's published split is honoured
    # A second run over the same data reads every feature from the cache.
    second = tmp_path / "again"
    argv2 = ["train", "--model", "emotion_recognizer", "--datasets-dir", str(datasets_dir), "--output", str(second)]
    assert main([*argv2, "--epochs", "1", "--cache-dir", str(tmp_path / "cache")]) == 0
