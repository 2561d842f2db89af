"""The five networks of the plugin and their registry."""

from ml.models.layers import DenseSpec, LayerSpec, LayerStack, RecurrentSpec, apply_activation
from ml.models.registry import (
    MODEL_KEYS,
    MODELS,
    ModelSpec,
    build_model,
    get_spec,
    resolve_model_keys,
    validate_architecture,
)

__all__ = [
    "MODELS",
    "MODEL_KEYS",
    "DenseSpec",
    "LayerSpec",
    "LayerStack",
    "ModelSpec",
    "RecurrentSpec",
    "apply_activation",
    "build_model",
    "get_spec",
    "resolve_model_keys",
    "validate_architecture",
]
