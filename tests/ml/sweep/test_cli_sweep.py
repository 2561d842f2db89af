"""`mltrain sweep` end to end on tiny synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ml.checkpoint import load_checkpoint
from ml.cli.main import main

torch.set_num_threads(1)


def test_sweep_command_writes_sweep_json_and_the_best_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"lr": {"grid": [1e-4, 3e-3]}, "weight_decay": {"choices": [0.0, 0.05]}}))
    out = tmp_path / "sweep"
    argv = ["sweep", "--model", "dynamics_engine", "--synthetic", "--synthetic-samples", "192", "--epochs", "2",
            "--space", str(space), "--strategy", "grid", "--trials", "3", "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("trial ") >= 3 and "best trial" in printed
    saved = json.loads((out / "sweep.json").read_text())
    assert [t["status"] for t in saved["trials"]] == ["complete"] * 3
    best = saved["best"]
    assert best["objective"] == min(t["objective"] for t in saved["trials"])
    for name in ("dynamics_engine.json", "evaluation.json", "export_report.json", "dynamics_engine.best.pt"):
        assert (out / "best" / name).is_file()
    state = load_checkpoint(out / "best" / "dynamics_engine.best.pt", expected_model="dynamics_engine")
    assert state["config"]["lr"] == best["params"]["lr"]
    assert json.loads((out / "best" / "evaluation.json").read_text())["dynamics_engine"]["test_loss"] > 0
    # Rerunning the finished sweep trains nothing more and finds the same best trial.
    assert main(argv) == 0
    assert json.loads((out / "sweep.json").read_text())["best"]["number"] == best["number"]


def test_sweep_command_reports_bad_input_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"lr": {"low": 0.0, "high": 0.1, "log": True}}))
    argv = ["sweep", "--model", "dynamics_engine", "--synthetic", "--space", str(space), "--trials", "2",
            "--output", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mltrain sweep: error: search parameter 'lr': a log range needs low > 0, got low = 0.0"
    assert not (tmp_path / "out").exists()
