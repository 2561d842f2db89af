import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.cli.main import main
from ml.config import TrainConfig
from ml.export import load_rtneural, model_from_rtneural, reference_forward
from ml.models import MODEL_KEYS
from ml.pipeline import DataSource, run_evaluation, run_training

TINY = {"epochs": 2, "synthetic_samples": 128, "batch_size": 32}


def test_pipeline_all_models_leaves_every_file(tmp_path: Path) -> None:
    summary = run_training("all", DataSource(synthetic=True), TrainConfig(**TINY), tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    for key in MODEL_KEYS:
        assert {f"{key}.json", f"{key}.best.pt", f"{key}.last.pt"} <= names
        assert summary.models[key].status == "trained"
        assert summary.models[key].export_max_abs_error is not None
        assert summary.models[key].export_max_abs_error < 1e-5
    assert {"metrics.json", "loss_curve.png", "evaluation.json", "export_report.json"} <= names
    assert (tmp_path / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["groove_predictor"]["history"]] == [1, 2]
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    emotion = evaluation["emotion_recognizer"]
    assert set(emotion["metrics"]) == {"valence_mae", "arousal_mae", "valence_r2", "arousal_r2"}
    assert emotion["split"] == "test" and emotion["samples"] == emotion["splits"]["test"] > 0
    assert set(emotion["baselines"]) == {"training_mean", "ridge"}
    assert set(evaluation["harmony_predictor"]["baselines"]) == {"unigram", "bigram"}
    assert set(evaluation["dynamics_engine"]["baselines"]) == {"training_mean", "recent_velocity", "ridge"}
    for key in MODEL_KEYS:
        assert summary.models[key].evaluation is not None
        assert summary.models[key].evaluation["verdict"] == evaluation[key]["verdict"]
    assert emotion["parameters"] == 403_264 and emotion["float32_bytes"] == 4 * 403_264
    assert emotion["latency_single"]["p99_ms"] >= emotion["latency_single"]["p50_ms"] > 0
    assert (
        evaluation["harmony_predictor"]["metrics"]["top3_accuracy"]
        >= evaluation["harmony_predictor"]["metrics"]["top1_accuracy"]
    )
    report = json.loads((tmp_path / "export_report.json").read_text())
    assert all(report[key]["passed"] for key in MODEL_KEYS)


def test_training_one_model_keeps_the_others_run_files(tmp_path: Path) -> None:
    run_training("groove_predictor", DataSource(synthetic=True), TrainConfig(**TINY), tmp_path)
    run_training("dynamics_engine", DataSource(synthetic=True), TrainConfig(**TINY), tmp_path)
    assert set(json.loads((tmp_path / "metrics.json").read_text())) == {"groove_predictor", "dynamics_engine"}


def test_evaluate_a_shipped_rtneural_json_without_checkpoint(tmp_path: Path) -> None:
    run_training("groove_predictor", DataSource(synthetic=True), TrainConfig(**TINY), tmp_path / "run")
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "groove_predictor.json").write_text((tmp_path / "run" / "groove_predictor.json").read_text())
    results = run_evaluation(shipped, DataSource(synthetic=True), tmp_path / "ev.json", latency_runs=10)
    assert results["groove_predictor"]["loaded_from"] == "groove_predictor.json"
    # The imported model computes what the JSON computes.
    doc = load_rtneural(shipped / "groove_predictor.json")
    import torch

    x = torch.rand(4, 64) * 2 - 1
    with torch.no_grad():
        out = model_from_rtneural(doc)(x).numpy()
    assert abs(reference_forward(doc, x.numpy()) - out).max() < 1e-5


def test_cli_train_export_verify_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["train", "--model", "harmony_predictor", "--synthetic", "--output", str(out), "--epochs", "2"]
    assert main([*args, "--synthetic-samples", "128", "--batch-size", "32"]) == 0
    assert main(["export", str(out / "harmony_predictor.best.pt"), "--output", str(tmp_path / "h.json")]) == 0
    assert main(["verify", str(tmp_path / "h.json"), str(out / "harmony_predictor.best.pt"), "--json"]) == 0
    out_text = capsys.readouterr().out
    report = json.loads(out_text[out_text.rindex('{\n  "model_key"') :])
    assert report["parity"]["max_abs_error"] < 1e-5 and report["output_size"] == 64
    # Resume of a finished run does no more epochs and keeps the history.
    assert main([*args, "--synthetic-samples", "128", "--batch-size", "32", "--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["harmony_predictor"]["history"]] == [1, 2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "all", "--synthetic", "--output", "{tmp}/o", "--epochs", "-1"], "epochs must be"),
        (["train", "--model", "all", "--synthetic", "--output", "{tmp}/o", "--lr", "0"], "lr must be"),
        (["train", "--model", "all", "--synthetic", "--output", "{tmp}/o", "--val-split", "1.5"], "val_split"),
        (["train", "--model", "all", "--synthetic", "--output", "{tmp}/o", "--batch-size", "0"], "batch_size"),
        (["train", "--model", "all", "--datasets-dir", "{tmp}/nope", "--output", "{tmp}/o"], "not found"),
        (["export", "{tmp}/missing.pt", "--output", "{tmp}/m.json"], "checkpoint not found"),
        (["export", "{tmp}/garbage.pt", "--output", "{tmp}/m.json"], "not a readable checkpoint"),
        (["verify", "{tmp}/garbage.json"], "not valid JSON"),
        (
            ["train", "--model", "all", "--synthetic", "--output", "{tmp}/o", "--config", "{tmp}/garbage.json"],
            "not valid JSON",
        ),
    ],
)
def test_cli_bad_input_is_one_line_and_nonzero(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "garbage.json").write_text("{nope")
    code = main([arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "o").exists()


def test_export_of_a_checkpoint_of_another_model_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_training("groove_predictor", DataSource(synthetic=True), TrainConfig(**TINY), tmp_path)
    doc = tmp_path / "groove_predictor.json"
    (tmp_path / "dyn").mkdir()
    run_training("dynamics_engine", DataSource(synthetic=True), TrainConfig(**TINY), tmp_path / "dyn")
    assert main(["verify", str(doc), str(tmp_path / "dyn" / "dynamics_engine.best.pt")]) != 0
    assert "not groove_predictor" in capsys.readouterr().err


def test_console_script_runs_as_a_real_process(tmp_path: Path) -> None:
    mltrain = Path(sys.executable).parent / "mltrain"
    done = subprocess.run(
        [str(mltrain), "train", "--model", "drum_machine", "--synthetic", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "invalid choice: 'drum_machine'" in done.stderr
