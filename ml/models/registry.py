"""The registry of the five models: key -> class, loss, learning-rate default, and builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ml.errors import ConfigError
from ml.models.layers import LayerStack
from ml.models.networks import (
    DynamicsEngine,
    EmotionRecognizer,
    GroovePredictor,
    HarmonyPredictor,
    MelodyTransformer,
)

LossKind = Literal["mse", "bce", "kl"]
MAX_HIDDEN_SIZE = 4096


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of mltrain needs to know about one of the plugin's networks."""

    key: str
    cls: type[LayerStack]
    loss: LossKind
    input_size: int
    output_size: int
    default_architecture: Mapping[str, int]
    description: str


def _spec(cls: type[LayerStack], loss: LossKind, description: str) -> ModelSpec:
    return ModelSpec(
        key=cls.key,
        cls=cls,
        loss=loss,
        input_size=cls.input_size_fixed,
        output_size=cls.output_size_fixed,
        default_architecture=dict(cls.default_architecture),
        description=description,
    )


MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        _spec(EmotionRecognizer, "mse", "audio mel features -> emotion embedding"),
        _spec(MelodyTransformer, "bce", "emotion -> note probabilities"),
        _spec(HarmonyPredictor, "kl", "emotion + chord context -> next-chord distribution"),
        _spec(DynamicsEngine, "mse", "performance context -> expression parameters"),
        _spec(GroovePredictor, "mse", "emotion -> drum groove parameters"),
    )
}
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
    factory: Callable[..., LayerStack] = get_spec(key).cls
    return factory(**validate_architecture(key, architecture))
