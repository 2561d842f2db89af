"""The registry of the five models: key -> sizes, default architecture, loss, class name, and builder.

Plain data, no torch: the CLI, the API and config validation read it without importing PyTorch; the network
classes (`ml.models.networks`) take their sizes from here and are imported only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ml.errors import ConfigError

if TYPE_CHECKING:
    from ml.models.layers import LayerStack

LossKind = Literal["mse", "bce", "kl"]
MAX_HIDDEN_SIZE = 4096


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of mltrain needs to know about one of the plugin's networks."""

    key: str
    class_name: str  # in ml.models.networks
    loss: LossKind
    input_size: int
    output_size: int
    default_architecture: Mapping[str, int]
    description: str


MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec("emotion_recognizer", "EmotionRecognizer", "mse", 128, 64, {"fc1": 512, "fc2": 256, "lstm": 128},
                  "audio mel features -> emotion embedding"),
        ModelSpec("melody_transformer", "MelodyTransformer", "bce", 64, 128, {"fc1": 256, "lstm": 256, "fc2": 256},
                  "emotion, key mode and the previous 4 bars -> key-relative note probabilities"),
        ModelSpec("harmony_predictor", "HarmonyPredictor", "kl", 128, 64, {"fc1": 256, "fc2": 128},
                  "emotion + chord context -> next-chord distribution"),
        ModelSpec("dynamics_engine", "DynamicsEngine", "mse", 32, 16, {"fc1": 128, "fc2": 64},
                  "performance context -> expression parameters"),
        ModelSpec("groove_predictor", "GroovePredictor", "mse", 64, 32, {"fc1": 128, "fc2": 64},
                  "emotion -> drum groove parameters"),
    )
}  # fmt: skip
MODEL_KEYS: tuple[str, ...] = tuple(MODELS)


def get_spec(key: str) -> ModelSpec:
    """Look up a model by key, with an error that lists the valid keys."""
    try:
        return MODELS[key]
    except KeyError:
        raise ConfigError(f"unknown model {key!r}; choose one of: {', '.join(MODEL_KEYS)}") from None


def resolve_model_keys(key: str) -> list[str]:
    """Expand 'all' to every model key; validate a single key."""
    if key == "all":
        return list(MODEL_KEYS)
    return [get_spec(key).key]


def validate_architecture(key: str, architecture: Mapping[str, object] | None) -> dict[str, int]:
    """Merge an architecture override onto the model's defaults, refusing unknown layers and bad sizes."""
    spec = get_spec(key)
    merged = dict(spec.default_architecture)
    for name, value in (architecture or {}).items():
        if name not in merged:
            raise ConfigError(f"{key}: unknown architecture key {name!r}; configurable layers: {', '.join(merged)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HIDDEN_SIZE:
            raise ConfigError(f"{key}: {name} must be an integer in 1..{MAX_HIDDEN_SIZE}, got {value!r}")
        merged[name] = value
    return merged


def build_model(key: str, architecture: Mapping[str, object] | None = None) -> LayerStack:
    """Instantiate model `key` with its (validated) architecture."""
    from ml.models import networks

    factory: Callable[..., LayerStack] = getattr(networks, get_spec(key).class_name)
    return factory(**validate_architecture(key, architecture))
