from pathlib import Path

import numpy as np
import pytest
import torch

from ml.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from ml.errors import CheckpointError
from ml.models import build_model
from ml.normalize import FeatureNormalizer


@pytest.mark.parametrize("mode", ["standard", "minmax"])
def test_normalizer_transform_and_inverse(mode: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(5, 3, size=(200, 4)).astype(np.float32)
    x[:, 3] = 2.0  # a constant feature must pass through, not divide by zero
    norm = FeatureNormalizer.fit(x, mode)  # type: ignore[arg-type]
    z = norm.transform(x)
    if mode == "standard":
        np.testing.assert_allclose(z[:, :3].mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(z[:, :3].std(axis=0), 1, atol=1e-4)
    else:
        np.testing.assert_allclose(z[:, :3].min(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(z[:, :3].max(axis=0), 1, atol=1e-6)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(norm.inverse(z), x, rtol=1e-5, atol=1e-5)
    again = FeatureNormalizer.from_state_dict(norm.state_dict())
    np.testing.assert_array_equal(again.transform(x), z)


def test_checkpoint_round_trip_and_refusals(tmp_path: Path) -> None:
    model = build_model("dynamics_engine", {"fc1": 16})
    norm = FeatureNormalizer.fit(np.random.default_rng(0).normal(size=(50, 32)).astype(np.float32))
    path = tmp_path / "dyn.pt"
    save_checkpoint(
        path,
        {
            "model_key": "dynamics_engine",
            "architecture": {"fc1": 16, "fc2": 64},
            "model_state": model.state_dict(),
            "normalizer": norm.state_dict(),
        },
    )
    rebuilt, rebuilt_norm = model_from_checkpoint(load_checkpoint(path, expected_model="dynamics_engine"))
    x = torch.randn(4, 32)
    torch.testing.assert_close(rebuilt(x), model(x))
    np.testing.assert_array_equal(rebuilt_norm.offset, norm.offset)

    with pytest.raises(CheckpointError, match="holds a dynamics_engine checkpoint, not groove_predictor"):
        load_checkpoint(path, expected_model="groove_predictor")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": [1, 2]}, foreign)
    with pytest.raises(CheckpointError, match="not an mltrain checkpoint"):
        load_checkpoint(foreign)


def test_a_nearly_constant_feature_is_not_blown_up() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, size=(500, 8)).astype(np.float32)
    x[:, 0] = -1.0 + rng.normal(0, 1e-6, size=500)  # an embedding unit no label comes near
    norm = FeatureNormalizer.fit(x)
    typical = float(np.sqrt(np.mean(x.std(axis=0) ** 2)))  # ~0.94: the rms of all raw feature scales
    assert norm.scale[0] == pytest.approx(typical / 20, rel=1e-4)
    np.testing.assert_allclose(norm.scale[1:], x[:, 1:].std(axis=0), rtol=1e-4)
