"""One-step LSTM exports ignore the state RTNeural carries between calls; GRU and old-style exports are reported
as state-dependent, and the reference forward models both ways of calling."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.checkpoint import save_checkpoint
from ml.cli.export import STATE_DEPENDENT
from ml.cli.main import main
from ml.errors import ExportError
from ml.export import check_document, export_rtneural, reference_forward, state_independent, verify_rtneural
from ml.export.state import FORGET_GATE_BIAS
from ml.models import LayerStack, RecurrentSpec, build_model
from ml.normalize import FeatureNormalizer

LSTM_MODELS = ("emotion_recognizer", "melody_transformer")


def _model(key: str, seed: int = 3) -> LayerStack:
    model = build_model(key)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    return model


def _normalizer(size: int) -> FeatureNormalizer:
    rng = np.random.default_rng(0)
    return FeatureNormalizer.fit(rng.normal(rng.uniform(-40, 10, size), rng.uniform(0.5, 20, size), (300, size)))


@pytest.mark.parametrize("key", LSTM_MODELS)
def test_lstm_models_give_the_same_output_with_or_without_reset(key: str) -> None:
    model = _model(key)
    normalizer = _normalizer(model.input_size)
    doc = export_rtneural(model, normalizer)
    meta = doc["metadata"]
    assert meta["state_independent"] is True and meta["reset_each_call"] is True
    lstm = next(layer for layer in doc["layers"] if layer["type"] == "lstm")
    hidden = lstm["shape"][-1]
    w, u, b = (np.asarray(a) for a in lstm["weights"])
    assert not u.any() and not w[:, hidden : 2 * hidden].any()
    assert (b[hidden : 2 * hidden] == FORGET_GATE_BIAS).all()
    # The forget gate as RTNeural's float32 sigmoid computes it: 1 / (1 + exp(-x)).
    bias32 = np.float32(FORGET_GATE_BIAS)
    with np.errstate(over="ignore"):
        assert np.float32(1) / (np.float32(1) + np.exp(-bias32)) == np.float32(0.0)
        assert 1.0 / (1.0 + np.exp(-np.float64(FORGET_GATE_BIAS))) == 0.0  # and in double

    x = np.random.default_rng(1).normal(0.0, 3.0, (64, model.input_size)) * normalizer.scale + normalizer.offset
    for dtype in (np.float64, np.float32):
        reset = reference_forward(doc, x, dtype=dtype)
        carried = reference_forward(doc, x, stateful=True, dtype=dtype)
        assert np.abs(reset - carried).max() == 0.0
    report = verify_rtneural(doc, model, normalizer, n_inputs=64)
    assert report.state_independent is True
    assert report.max_abs_error < 1e-5 and report.stateful_max_abs_error == report.max_abs_error
    assert check_document(doc).stateful_max_abs_difference == 0.0


@pytest.mark.parametrize("key", LSTM_MODELS)
def test_old_style_export_is_reported_state_dependent(key: str) -> None:
    model = _model(key)
    old = export_rtneural(model, None, state_free=False)
    assert old["metadata"]["state_independent"] is False and not state_independent(old)
    report = verify_rtneural(old, model, None, n_inputs=64)
    # With a reset before every call it is still right; without, it is far off.
    assert report.passed and report.state_independent is False and report.stateful_max_abs_error > 0.05
    document = check_document(old)
    assert document.state_independent is False and document.stateful_max_abs_difference > 0.05
    # Both exports compute the same thing from a zero state.
    x = np.random.default_rng(2).uniform(-1, 1, (32, model.input_size))
    new = export_rtneural(model, None)
    np.testing.assert_allclose(reference_forward(new, x), reference_forward(old, x), atol=1e-12)


def test_a_false_claim_of_state_independence_is_refused() -> None:
    model = _model("melody_transformer")
    old = export_rtneural(model, None, state_free=False)
    old["metadata"]["state_independent"] = True
    with pytest.raises(ExportError, match="state_independent"):
        check_document(old)
    with pytest.raises(ExportError, match="state_independent"):
        verify_rtneural(old, model, None, n_inputs=16)


def _gru(seed: int = 0) -> LayerStack:
    torch.manual_seed(seed)
    model = LayerStack([RecurrentSpec("rnn", "gru", 5, 7)])
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


def test_gru_is_exported_exactly_and_reported_state_dependent() -> None:
    model = _gru()
    doc = export_rtneural(model, None)
    assert doc["metadata"]["state_independent"] is False
    report = verify_rtneural(doc, model, None, n_inputs=64)
    assert report.passed and report.stateful_max_abs_error > 1e-3
    # Why the exporter leaves the GRU alone: closing z (the only way to drop z * h_{t-1}) changes the output,
    # because PyTorch's one step from zero outputs (1 - z) * n with a live z.
    closed = copy.deepcopy(doc)
    del closed["metadata"]  # edited weights: no hash, no claim
    w, u, b = closed["layers"][0]["weights"]
    for row in w:
        row[:7] = [0.0] * 7
    closed["layers"][0]["weights"][1] = [[0.0] * 21 for _ in u]
    b[0][:7], b[1][:7] = [FORGET_GATE_BIAS] * 7, [0.0] * 7
    assert state_independent(closed)
    x = np.random.default_rng(4).normal(size=(32, 5))
    assert np.abs(reference_forward(closed, x) - reference_forward(doc, x)).max() > 1e-2
    # ...but such a document is state-independent, through U = 0 and b[1] kept for r * b_rec.
    np.testing.assert_array_equal(reference_forward(closed, x, stateful=True), reference_forward(closed, x))
    assert check_document(closed).state_independent is True


def test_stateful_reference_carries_state_like_pytorch() -> None:
    # Rows as consecutive calls without reset equal one PyTorch sequence over those rows.
    for kind in ("lstm", "gru"):
        torch.manual_seed(1)
        model = LayerStack([RecurrentSpec("rnn", kind, 5, 7)])  # type: ignore[arg-type]
        doc = export_rtneural(model, None, state_free=False)
        x = np.random.default_rng(5).normal(size=(12, 5))
        with torch.no_grad():
            expected, _ = model.layers["rnn"].double()(torch.from_numpy(x).unsqueeze(0))
        np.testing.assert_allclose(reference_forward(doc, x, stateful=True), expected[0].numpy(), atol=1e-6)


def test_cli_verify_says_when_recurrent_layers_depend_on_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_model("melody_transformer", {"fc1": 16, "lstm": 8, "fc2": 12})
    state = {
        "model_key": "melody_transformer",
        "architecture": {"fc1": 16, "lstm": 8, "fc2": 12},
        "model_state": model.state_dict(),
        "normalizer": FeatureNormalizer.identity(64).state_dict(),
        "run_id": "r",
    }
    save_checkpoint(tmp_path / "m.pt", state)
    assert main(["export", str(tmp_path / "m.pt"), "--output", str(tmp_path / "m.json")]) == 0
    assert main(["verify", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert STATE_DEPENDENT not in out and "golden vectors within" in out
    old = export_rtneural(model, None, state_free=False)
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert main(["verify", str(tmp_path / "old.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == STATE_DEPENDENT and len(lines) == 2
    assert main(["verify", str(tmp_path / "old.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["state_independent"] is False and report["warnings"] == [STATE_DEPENDENT]
