import numpy as np
import pytest
import torch

from ml import emotion
from ml.errors import ConfigError
from ml.models import MODEL_KEYS, build_model, get_spec


def test_total_parameter_count_matches_the_plugin_networks() -> None:
    assert sum(build_model(key).parameter_count() for key in MODEL_KEYS) == 1_151_280


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_output_shape_and_range(key: str) -> None:
    spec = get_spec(key)
    model = build_model(key)
    out = model(torch.randn(7, spec.input_size) * 3)
    assert out.shape == (7, spec.output_size)
    activation = model.output_activation
    if activation == "tanh":
        assert out.abs().max() <= 1
    if activation == "sigmoid":
        assert out.min() >= 0 and out.max() <= 1
    if activation == "softmax":
        torch.testing.assert_close(out.sum(dim=1), torch.ones(7))


def test_hidden_sizes_are_configurable_and_validated() -> None:
    model = build_model("emotion_recognizer", {"fc1": 32, "lstm": 16})
    assert model(torch.zeros(2, 128)).shape == (2, 64)
    with pytest.raises(ConfigError, match="unknown architecture key"):
        build_model("dynamics_engine", {"lstm": 8})
    with pytest.raises(ConfigError, match="fc1 must be an integer"):
        build_model("dynamics_engine", {"fc1": 0})
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("drum_machine")


def test_emotion_embedding_round_trips_and_fits_tanh() -> None:
    rng = np.random.default_rng(0)
    va = np.round(rng.uniform(-1, 1, size=(500, 2)), 2)
    emb = emotion.encode(va[:, 0], va[:, 1])
    assert emb.shape == (500, 64)
    assert emb.min() >= -1 and emb.max() <= 1
    np.testing.assert_allclose(emotion.decode(emb), va, atol=0.0051)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_one_step_fast_path_equals_torch_recurrent_layer(kind: str) -> None:
    from ml.models import LayerStack, RecurrentSpec

    stack = LayerStack([RecurrentSpec("rnn", kind, 12, 9)])  # type: ignore[arg-type]
    with torch.no_grad():
        for p in stack.parameters():
            p.copy_(torch.randn_like(p))
    x = torch.randn(17, 12)
    expected, _ = stack.layers["rnn"](x.unsqueeze(1))
    torch.testing.assert_close(stack(x), expected.squeeze(1), atol=1e-6, rtol=1e-6)
