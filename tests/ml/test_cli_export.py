"""`mltrain export` / `mltrain verify` run in-process: summaries, JSON output, and one-line failures."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.checkpoint import save_checkpoint
from ml.cli.main import main
from ml.export import load_rtneural
from ml.models import build_model
from ml.normalize import FeatureNormalizer


def _checkpoint(path: Path, key: str = "harmony_predictor", *, nan: bool = False) -> Path:
    torch.manual_seed(0)
    model = build_model(key, {"fc1": 24, "fc2": 12})
    if nan:
        with torch.no_grad():
            model.layers["fc2"].weight[0, 0] = float("nan")
    rng = np.random.default_rng(0)
    normalizer = FeatureNormalizer.fit(rng.normal(3.0, 4.0, (200, model.input_size)))
    state = {
        "model_key": key,
        "architecture": {"fc1": 24, "fc2": 12},
        "model_state": model.state_dict(),
        "normalizer": normalizer.state_dict(),
        "run_id": "run-7",
        "epoch": 3,
    }
    save_checkpoint(path, state)
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str], command: str, fragment: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"mltrain {command}: error: "), err
    assert fragment in err, err


def test_export_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = _checkpoint(tmp_path / "h.pt")
    out, report = tmp_path / "h.json", tmp_path / "export_report.json"
    assert main(["export", str(ckpt), "--output", str(out), "--report", str(report)]) == 0
    assert "harmony_predictor: wrote" in capsys.readouterr().out
    doc = load_rtneural(out)
    assert doc["metadata"]["run_id"] == "run-7" and doc["metadata"]["epoch"] == 3
    assert doc["metadata"]["input_normalization"] == "folded"
    parity = json.loads(report.read_text())["harmony_predictor"]
    assert parity["passed"] and parity["max_abs_error"] < 1e-5

    assert main(["verify", str(out)]) == 0
    assert "valid RTNeural model harmony_predictor 128 -> 64" in capsys.readouterr().out
    assert main(["verify", str(out), str(ckpt), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["final_activation"] == "softmax" and result["parity"]["max_abs_error"] < 1e-5
    assert 0.0 <= result["output_min"] <= result["output_max"] <= 1.0


def test_verify_accepts_a_file_without_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = _checkpoint(tmp_path / "h.pt")
    main(["export", str(ckpt), "--output", str(tmp_path / "h.json")])
    doc = json.loads((tmp_path / "h.json").read_text())
    del doc["metadata"]
    (tmp_path / "bare.json").write_text(json.dumps(doc))
    assert main(["verify", str(tmp_path / "bare.json")]) == 0
    assert "(no model_key)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setup", "args", "fragment"),
    [
        ("none", ["export", "{tmp}/missing.pt", "--output", "{tmp}/m.json"], "checkpoint not found"),
        ("garbage", ["export", "{tmp}/garbage.pt", "--output", "{tmp}/m.json"], "not a readable checkpoint"),
        ("nan", ["export", "{tmp}/nan.pt", "--output", "{tmp}/m.json"], "NaN"),
        ("none", ["verify", "{tmp}/m.json"], "model JSON not found"),
        ("not_rtneural", ["verify", "{tmp}/m.json"], "in_shape"),
        ("garbage_json", ["verify", "{tmp}/m.json"], "not valid JSON"),
        ("tampered", ["verify", "{tmp}/m.json"], "weights_sha256"),
        ("other_model", ["verify", "{tmp}/m.json", "{tmp}/other.pt"], "not harmony_predictor"),
    ],
)
def test_bad_inputs_fail_with_one_line(
    setup: str, args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_json = tmp_path / "m.json"
    if setup == "garbage":
        (tmp_path / "garbage.pt").write_bytes(b"not a zip")
    elif setup == "nan":
        _checkpoint(tmp_path / "nan.pt", nan=True)
    elif setup == "not_rtneural":
        model_json.write_text('{"layers": []}')
    elif setup == "garbage_json":
        model_json.write_text("{ nope")
    elif setup in ("tampered", "other_model"):
        assert main(["export", str(_checkpoint(tmp_path / "h.pt")), "--output", str(model_json)]) == 0
        if setup == "tampered":
            doc = json.loads(model_json.read_text())
            doc["layers"][0]["weights"][1][0] += 0.5
            model_json.write_text(json.dumps(doc))
        _checkpoint(tmp_path / "other.pt", "dynamics_engine")
        capsys.readouterr()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([a.format(tmp=tmp_path) for a in args]) != 0
    _one_error_line(capsys, args[0], fragment)
    # Nothing half-written: no new file, no temporary left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == before
