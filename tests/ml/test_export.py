import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.errors import ExportError
from ml.export import (
    export_rtneural,
    load_rtneural,
    model_from_rtneural,
    reference_forward,
    verify_rtneural,
    write_rtneural,
)
from ml.models import MODEL_KEYS, DenseSpec, LayerStack, RecurrentSpec, build_model, get_spec
from ml.normalize import FeatureNormalizer

NON_DEFAULT = {
    "emotion_recognizer": {"fc1": 48, "fc2": 24, "lstm": 12},
    "melody_transformer": {"fc1": 40, "lstm": 20, "fc2": 30},
    "harmony_predictor": {"fc1": 17, "fc2": 9},
    "dynamics_engine": {"fc1": 50, "fc2": 7},
    "groove_predictor": {"fc1": 33, "fc2": 65},
}


def _normalizer(size: int, seed: int = 0) -> FeatureNormalizer:
    rng = np.random.default_rng(seed)
    return FeatureNormalizer.fit(rng.normal(rng.uniform(-40, 10, size), rng.uniform(0.5, 20, size), (300, size)))


def _randomize(model: torch.nn.Module, seed: int) -> None:
    # Default init leaves biases small; bigger random weights exercise saturation and gate arithmetic harder.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)


@pytest.mark.parametrize("key", MODEL_KEYS)
@pytest.mark.parametrize("hidden", ["default", "custom"])
def test_export_matches_pytorch_within_1e5(key: str, hidden: str) -> None:
    model = build_model(key, NON_DEFAULT[key] if hidden == "custom" else None)
    _randomize(model, seed=len(key))
    normalizer = _normalizer(model.input_size)
    doc = export_rtneural(model, normalizer, run_id="run-1")
    report = verify_rtneural(doc, model, normalizer, n_inputs=300)
    assert report.passed and report.max_abs_error < 1e-5
    meta = doc["metadata"]
    assert meta["model_key"] == key and meta["reset_each_call"] is True and meta["run_id"] == "run-1"
    assert meta["parameter_count"] == model.parameter_count()
    assert doc["in_shape"] == [None, get_spec(key).input_size]
    assert all(layer["activation"] in ("tanh", "relu", "sigmoid", "softmax", "") for layer in doc["layers"])
    # The folded normalizer really is folded: raw inputs into the JSON equal normalized inputs into PyTorch.
    x = normalizer.offset + normalizer.scale * np.random.default_rng(1).normal(size=(5, model.input_size))
    with torch.no_grad():
        expected = model(torch.from_numpy(normalizer.transform(x.astype(np.float32)))).numpy()
    np.testing.assert_allclose(reference_forward(doc, x), expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("surrounded", [False, True])
def test_single_recurrent_layers_match(kind: str, surrounded: bool) -> None:
    specs = [RecurrentSpec("rnn", kind, 6, 10)]  # type: ignore[arg-type]
    if surrounded:
        specs = [DenseSpec("pre", 5, 6, "relu"), *specs, DenseSpec("post", 10, 3, "sigmoid")]
    model = LayerStack(specs)
    _randomize(model, seed=7)
    doc = export_rtneural(model, None)
    assert verify_rtneural(doc, model, None).max_abs_error < 1e-5
    again = model_from_rtneural(doc)
    x = torch.randn(20, model.input_size)
    torch.testing.assert_close(again(x), model(x), atol=1e-6, rtol=1e-6)


def test_gru_gate_reorder_is_needed() -> None:
    model = LayerStack([RecurrentSpec("rnn", "gru", 4, 8)])
    _randomize(model, seed=3)
    doc = export_rtneural(model, None)
    naive = copy.deepcopy(doc)
    layer = model.layers["rnn"]
    naive["layers"][0]["weights"] = [
        layer.weight_ih_l0.detach().T.tolist(),
        layer.weight_hh_l0.detach().T.tolist(),
        [layer.bias_ih_l0.detach().tolist(), layer.bias_hh_l0.detach().tolist()],
    ]
    with pytest.raises(ExportError, match="differs from PyTorch"):
        verify_rtneural(naive, model, None)


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_round_trip_json_pytorch_json_is_identical(key: str, tmp_path: Path) -> None:
    model = build_model(key, NON_DEFAULT[key])
    _randomize(model, seed=11)
    path = tmp_path / "m.json"
    write_rtneural(export_rtneural(model, _normalizer(model.input_size)), path)
    first = load_rtneural(path)
    second = export_rtneural(model_from_rtneural(path), None)
    assert json.dumps(second["layers"]) == json.dumps(first["layers"])
    assert second["in_shape"] == first["in_shape"]
    assert second["metadata"]["weights_sha256"] == first["metadata"]["weights_sha256"]


def _doc() -> dict:
    model = build_model("dynamics_engine", {"fc1": 4, "fc2": 4})
    return export_rtneural(model, None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("in_shape"), "in_shape"),
        (lambda d: d["layers"][0].update(type="dense2"), "unsupported layer type"),
        (lambda d: d["layers"][0].update(activation="linear"), "would crash RTNeural"),
        (lambda d: d["layers"][0].update(activation="leaky_relu"), "would crash RTNeural"),
        (lambda d: d["layers"][1]["weights"][0].pop(), "rows"),
        (lambda d: d["layers"][0].update(weights=[]), r"\[kernel, bias\] or \[kernel\]"),
        (lambda d: d["layers"][0].pop("weights"), "weights must be a list"),
        (lambda d: d["layers"][0].pop("shape"), "missing or invalid shape"),
        (lambda d: d.update(in_shape=[None, True]), "in_shape"),
        (lambda d: d.update(in_shape=None), "in_shape"),
        (lambda d: d["layers"].insert(1, {"type": "activation", "activation": "relu", "shape": [None, 4]}), "weights"),
        (
            lambda d: d["layers"].insert(
                1, {"type": "activation", "activation": "relu", "shape": [None, 5], "weights": []}
            ),
            "does not match its input size",
        ),
        (lambda d: d["layers"][1]["weights"][1].__setitem__(0, "1.0"), "non-numeric"),
        (lambda d: d["layers"][1]["weights"][1].__setitem__(0, float("inf")), "non-finite"),
        (lambda d: d["layers"][2].update(shape=[None, 5]), "rows|values per row"),
    ],
)
def test_invalid_documents_are_refused(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = _doc()
    mutate(doc)
    with pytest.raises(ExportError, match=message):
        load_rtneural(doc)


def test_transposed_kernel_is_refused() -> None:
    doc = _doc()  # 32 -> 4 -> 4 -> 16: the first kernel must be [32][4]
    kernel = doc["layers"][0]["weights"][0]
    doc["layers"][0]["weights"][0] = [list(col) for col in zip(*kernel, strict=True)]
    with pytest.raises(ExportError, match="rows"):
        load_rtneural(doc)


def test_nan_is_refused_in_text_and_in_weights(tmp_path: Path) -> None:
    text = json.dumps(_doc()).replace("0.", "NaN, 0.", 1)
    with pytest.raises(ExportError):
        load_rtneural(text)
    model = build_model("groove_predictor")
    with torch.no_grad():
        model.layers["fc2"].bias[0] = float("nan")
    with pytest.raises(ExportError, match="NaN"):
        export_rtneural(model, None)


def test_importer_refuses_a_model_of_another_shape() -> None:
    doc = export_rtneural(build_model("groove_predictor"), None)
    with pytest.raises(ExportError, match="dynamics_engine"):
        model_from_rtneural(doc, "dynamics_engine")


def test_normalizer_cannot_be_folded_into_a_recurrent_first_layer() -> None:
    model = LayerStack([RecurrentSpec("rnn", "lstm", 6, 4), DenseSpec("out", 4, 2, "")])
    with pytest.raises(ExportError, match=r"dense first layer.*identity"):
        export_rtneural(model, _normalizer(6))
    doc = export_rtneural(model, FeatureNormalizer.identity(6))
    assert doc["metadata"]["input_normalization"] == "none"
    assert verify_rtneural(doc, model, FeatureNormalizer.identity(6)).passed


def test_verify_leaves_the_model_in_training_mode_and_checks_sizes() -> None:
    model = build_model("groove_predictor", NON_DEFAULT["groove_predictor"]).train()
    doc = export_rtneural(model, None)
    verify_rtneural(doc, model, None)
    assert model.training
    with pytest.raises(ExportError, match="the JSON maps 64 -> 32 but the model maps 32 -> 16"):
        verify_rtneural(doc, build_model("dynamics_engine"), None)


def test_extra_metadata_cannot_replace_core_fields() -> None:
    with pytest.raises(ExportError, match="model_key"):
        export_rtneural(build_model("groove_predictor"), None, extra_metadata={"model_key": "x"})
