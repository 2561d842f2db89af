"""The five networks of the plugin and their registry.

The registry is imported eagerly (plain data); the torch-backed layer classes only when first used, so the
CLI and the API can validate model keys and configurations without importing PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ml.models.registry import (
    MODEL_KEYS,
    MODELS,
    ModelSpec,
    build_model,
    get_spec,
    resolve_model_keys,
    validate_architecture,
)

if TYPE_CHECKING:
    from ml.models.layers import DenseSpec, LayerSpec, LayerStack, RecurrentSpec, apply_activation

_LAYER_NAMES = ("DenseSpec", "LayerSpec", "LayerStack", "RecurrentSpec", "apply_activation")

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


def __getattr__(name: str) -> Any:
    if name in _LAYER_NAMES:
        from ml.models import layers

        return getattr(layers, name)
    raise AttributeError(f"module 'ml.models' has no attribute {name!r}")
