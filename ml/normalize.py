"""FeatureNormalizer: per-feature standardization or min-max scaling, fit on the training split only.

It travels in the checkpoint and is folded into the first dense layer at export (W' = W / scale,
b' = b - W' @ offset), so the plugin feeds raw features and the JSON computes exactly what training saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

NormalizerMode = Literal["standard", "minmax", "none"]
NORMALIZER_MODES: tuple[str, ...] = ("standard", "minmax", "none")
_EPS = 1e-8
MAX_RELATIVE_GAIN = 20.0


@dataclass
class FeatureNormalizer:
    """x_normalized = (x - offset) / scale, per feature."""

    mode: NormalizerMode
    offset: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]

    @classmethod
    def identity(cls, size: int) -> FeatureNormalizer:
        """A normalizer that changes nothing."""
        return cls("none", np.zeros(size, np.float32), np.ones(size, np.float32))

    @classmethod
    def fit(cls, features: npt.NDArray[np.float32], mode: NormalizerMode = "standard") -> FeatureNormalizer:
        """Fit on [N, F] training features; constant features get scale 1 so they pass through unchanged."""
        if mode not in NORMALIZER_MODES:
            raise ValueError(f"normalizer mode must be one of {NORMALIZER_MODES}, got {mode!r}")
        x = np.asarray(features, dtype=np.float64)
        if mode == "none":
            return cls.identity(x.shape[1])
        if mode == "standard":
            offset, scale = x.mean(axis=0), x.std(axis=0)
        else:
            offset, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        scale = np.where(scale < _EPS, 1.0, scale)
        # A nearly constant feature (an emotion-embedding unit no training label comes near) would be blown up by
        # 1/std; folded into float32 weights that amplifies rounding and makes the model fragile off the
        # training manifold. No feature is scaled up more than MAX_RELATIVE_GAIN times a typical feature.
        typical = float(np.sqrt(np.mean(scale**2)))
        scale = np.maximum(scale, typical / MAX_RELATIVE_GAIN)
        return cls(mode, offset.astype(np.float32), scale.astype(np.float32))

    @property
    def is_identity(self) -> bool:
        """True if transform is a no-op."""
        return bool(np.all(self.offset == 0) and np.all(self.scale == 1))

    def transform(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Normalize [N, F] features."""
        return ((np.asarray(features, np.float32) - self.offset) / self.scale).astype(np.float32)

    def inverse(self, normalized: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Undo `transform`."""
        return (np.asarray(normalized, np.float32) * self.scale + self.offset).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        """Plain lists and strings, safe for torch.save(weights_only=True) and JSON."""
        return {"mode": self.mode, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> FeatureNormalizer:
        """Rebuild from `state_dict` output."""
        return cls(
            state["mode"],
            np.asarray(state["offset"], dtype=np.float32),
            np.asarray(state["scale"], dtype=np.float32),
        )
