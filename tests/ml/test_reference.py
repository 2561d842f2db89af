"""The numpy reference forward pass against PyTorch's own nn.LSTM / nn.GRU modules and hand-built documents."""

import copy

import numpy as np
import pytest
import torch

from ml.errors import ExportError
from ml.export import export_rtneural, model_from_rtneural, reference_forward
from ml.models import DenseSpec, LayerStack, RecurrentSpec


def _stack(kind: str, seed: int = 0) -> LayerStack:
    torch.manual_seed(seed)
    model = LayerStack([RecurrentSpec("rnn", kind, 5, 7)])  # type: ignore[arg-type]
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_reference_matches_the_full_pytorch_module_from_zero_state(kind: str) -> None:
    # nn.LSTM / nn.GRU themselves, not LayerStack's one-step shortcut: the reference must agree with both.
    model = _stack(kind)
    module = model.layers["rnn"].double()
    x = np.random.default_rng(1).normal(0.0, 2.0, (40, 5))
    with torch.no_grad():
        expected, _ = module(torch.from_numpy(x).unsqueeze(1))
    doc = export_rtneural(_stack(kind), None)
    np.testing.assert_allclose(reference_forward(doc, x), expected.squeeze(1).numpy(), atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_state_is_reset_before_each_sample(kind: str) -> None:
    doc = export_rtneural(_stack(kind), None)
    x = np.random.default_rng(2).normal(size=(6, 5))
    together = reference_forward(doc, x)
    # Batch order and company must not matter (1e-12: BLAS may sum a batch in another order).
    for i in range(len(x)):
        np.testing.assert_allclose(reference_forward(doc, x[i : i + 1])[0], together[i], atol=1e-12)
    np.testing.assert_allclose(reference_forward(doc, x[::-1]), together[::-1], atol=1e-12)


def test_swapping_gru_gates_changes_the_output() -> None:
    doc = export_rtneural(_stack("gru"), None)
    swapped = copy.deepcopy(doc)
    h = 7

    def swap(row: list[float]) -> list[float]:
        return row[h : 2 * h] + row[:h] + row[2 * h :]

    w, u, b = swapped["layers"][0]["weights"]
    swapped["layers"][0]["weights"] = [[swap(r) for r in w], [swap(r) for r in u], [swap(r) for r in b]]
    x = np.random.default_rng(3).normal(size=(20, 5))
    assert np.abs(reference_forward(doc, x) - reference_forward(swapped, x)).max() > 1e-2


def _dense_doc(activation: str, *, separate: bool, bias: bool = True) -> dict:
    rng = np.random.default_rng(4)
    kernel, biases = rng.normal(size=(3, 4)).tolist(), rng.normal(size=4).tolist()
    dense = {
        "type": "dense",
        "activation": "" if separate else activation,
        "shape": [None, 4],
        "weights": [kernel, biases] if bias else [kernel],
    }
    layers = [dense]
    if separate:
        layers.append({"type": "activation", "activation": activation, "shape": [None, 4], "weights": []})
    return {"in_shape": [None, 3], "layers": layers}


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "softmax", "elu"])
def test_standalone_activation_layer_equals_dense_activation(activation: str) -> None:
    x = np.random.default_rng(5).normal(0.0, 3.0, (10, 3))
    inline = reference_forward(_dense_doc(activation, separate=False), x)
    np.testing.assert_array_equal(reference_forward(_dense_doc(activation, separate=True), x), inline)
    doc = _dense_doc(activation, separate=False)
    kernel, bias = (np.asarray(a) for a in doc["layers"][0]["weights"])
    z = x @ kernel + bias
    expected = {
        "tanh": np.tanh(z),
        "relu": np.maximum(z, 0.0),
        "sigmoid": 1.0 / (1.0 + np.exp(-z)),
        "softmax": np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
        "elu": np.where(z > 0, z, np.exp(z) - 1.0),
    }[activation]
    np.testing.assert_allclose(inline, expected, atol=1e-12)


def test_dense_without_bias_has_zero_bias() -> None:
    x = np.random.default_rng(6).normal(size=(4, 3))
    doc = _dense_doc("", separate=False, bias=False)
    np.testing.assert_allclose(reference_forward(doc, x), x @ np.asarray(doc["layers"][0]["weights"][0]))


def test_sigmoid_and_softmax_saturate_without_overflow() -> None:
    # filterwarnings=error: an overflow RuntimeWarning would fail the test.
    x = np.array([[1e4, -1e4, 0.0]])
    assert np.isfinite(reference_forward(_dense_doc("sigmoid", separate=False), x * 100)).all()
    assert np.isfinite(reference_forward(_dense_doc("softmax", separate=False), x * 100)).all()


def test_wrong_input_width_is_an_export_error() -> None:
    with pytest.raises(ExportError, match=r"\[N, 3\]"):
        reference_forward(_dense_doc("tanh", separate=False), np.zeros((2, 4)))


def test_importer_folds_a_standalone_activation_and_refuses_what_it_cannot_express() -> None:
    doc = _dense_doc("sigmoid", separate=True)
    model = model_from_rtneural(doc)
    assert [(s.name, s.activation) for s in model.specs] == [("layer0", "sigmoid")]
    x = np.random.default_rng(7).normal(size=(5, 3))
    with torch.no_grad():
        out = model(torch.from_numpy(x.astype(np.float32))).double().numpy()
    np.testing.assert_allclose(out, reference_forward(doc, x), atol=1e-6)
    with pytest.raises(ExportError, match="no PyTorch LayerStack equivalent"):
        model_from_rtneural(_dense_doc("elu", separate=False))
    after_lstm = export_rtneural(LayerStack([RecurrentSpec("rnn", "lstm", 3, 4)]), None)
    after_lstm["layers"].append({"type": "activation", "activation": "tanh", "shape": [None, 4], "weights": []})
    with pytest.raises(ExportError, match="must follow a dense layer"):
        model_from_rtneural(after_lstm)


def test_importer_keeps_valid_names_and_replaces_bad_ones() -> None:
    model = LayerStack([DenseSpec("fc1", 3, 4, "tanh"), DenseSpec("fc2", 4, 2, "")])
    doc = export_rtneural(model, None)
    doc["layers"][1]["name"] = "bad.name"
    assert [s.name for s in model_from_rtneural(doc).specs] == ["fc1", "layer1"]
