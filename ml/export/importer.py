"""RTNeural JSON -> PyTorch LayerStack, so models already shipped in the plugin can be evaluated or re-exported.

LSTM: RTNeural stores one bias (bias_ih + bias_hh); it is loaded as bias_ih with bias_hh = 0, which computes the
same and re-exports to the identical JSON. GRU: the z, r, h blocks go back to PyTorch's r, z, n and the two bias
rows become bias_ih and bias_hh exactly. A dense layer without a bias gets a zero bias. A standalone activation
layer right after a dense layer without one becomes that layer's activation (an empty one is dropped); anything
a LayerStack cannot express (an activation after a recurrent layer, "elu") is refused with ExportError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.errors import ExportError
from ml.export.document import load_rtneural
from ml.models import DenseSpec, LayerSpec, LayerStack, RecurrentSpec, build_model, get_spec
from ml.models.layers import ACTIVATIONS


def _tensor(value: Any) -> torch.Tensor:
    return torch.from_numpy(np.asarray(value, dtype=np.float32))


def _gru_from_rtneural(matrix: torch.Tensor, hidden: int) -> torch.Tensor:
    """RTNeural z, r, h blocks along dim 0 back to PyTorch's r, z, n."""
    z, r, n = matrix[:hidden], matrix[hidden : 2 * hidden], matrix[2 * hidden :]
    return torch.cat([r, z, n], dim=0)


def _weight_layers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The dense/recurrent layers, with standalone activation layers folded into the dense layer before them."""
    merged: list[dict[str, Any]] = []
    for index, layer in enumerate(doc["layers"]):
        activation = layer.get("activation", "") if layer["type"] != "lstm" and layer["type"] != "gru" else ""
        if activation not in ACTIVATIONS:
            raise ExportError(f"layer {index}: activation {activation!r} has no PyTorch LayerStack equivalent")
        if layer["type"] != "activation":
            merged.append({**layer, "activation": activation})
            continue
        if not activation:
            continue
        previous = merged[-1] if merged else None
        if previous is None or previous["type"] != "dense" or previous["activation"]:
            raise ExportError(
                f"layer {index}: a standalone {activation!r} activation must follow a dense layer that has none"
            )
        previous["activation"] = activation
    return merged


def _name(layer: dict[str, Any], index: int, taken: set[str]) -> str:
    name = layer.get("name")
    # ModuleDict names cannot contain dots and must be unique; fall back to the position otherwise.
    if not isinstance(name, str) or not name.isidentifier() or name in taken:
        name = f"layer{index}"
    taken.add(name)
    return name


def _specs(layers: list[dict[str, Any]], in_size: int, names: list[str] | None) -> list[LayerSpec]:
    specs: list[LayerSpec] = []
    size, taken = in_size, set[str]()
    for index, layer in enumerate(layers):
        out = int(layer["shape"][-1])
        name = names[index] if names else _name(layer, index, taken)
        if layer["type"] == "dense":
            specs.append(DenseSpec(name, size, out, layer["activation"]))
        else:
            specs.append(RecurrentSpec(name, layer["type"], size, out))
        size = out
    return specs


def model_from_rtneural(source: Path | str | dict[str, Any], model_key: str | None = None) -> LayerStack:
    """Rebuild a PyTorch model from RTNeural JSON; the model key comes from metadata when not given."""
    doc = load_rtneural(source)
    layers = _weight_layers(doc)
    in_size = int(doc["in_shape"][-1])
    metadata = doc.get("metadata")
    key = model_key or (metadata.get("model_key") if isinstance(metadata, dict) else None)
    model = _known_model(str(key), layers, in_size) if key else LayerStack(_specs(layers, in_size, None))
    _load_weights(model, layers)
    return model.eval()


def _known_model(key: str, layers: list[dict[str, Any]], in_size: int) -> LayerStack:
    """Build `key` with the hidden sizes the JSON implies, after checking the layer kinds and activations match."""
    spec = get_spec(key)
    template = build_model(key)
    names = [s.name for s in template.specs]
    if len(names) != len(layers):
        raise ExportError(f"the JSON has {len(layers)} weight layers, {key} has {len(names)}")
    specs = _specs(layers, in_size, names)
    for mine, theirs in zip(specs, template.specs, strict=True):
        same_kind = type(mine) is type(theirs) and getattr(mine, "kind", None) == getattr(theirs, "kind", None)
        if not same_kind or mine.activation != theirs.activation:
            raise ExportError(f"layer {mine.name}: the JSON does not match {key}'s architecture")
    if specs[0].in_features != spec.input_size or specs[-1].out_features != spec.output_size:
        raise ExportError(
            f"the JSON maps {specs[0].in_features} -> {specs[-1].out_features}, {key} is "
            f"{spec.input_size} -> {spec.output_size}"
        )
    return build_model(key, {s.name: s.out_features for s in specs if s.name in spec.default_architecture})


def _load_weights(model: LayerStack, layers: list[dict[str, Any]]) -> None:
    state: dict[str, torch.Tensor] = {}
    for spec, layer in zip(model.specs, layers, strict=True):
        prefix = f"layers.{spec.name}."
        if isinstance(spec, DenseSpec):
            weights = layer["weights"]
            state[prefix + "weight"] = _tensor(weights[0]).T
            state[prefix + "bias"] = _tensor(weights[1]) if len(weights) > 1 else torch.zeros(spec.out_features)
            continue
        w, u, b = layer["weights"]
        hidden = spec.out_features
        if spec.kind == "lstm":
            state[prefix + "weight_ih_l0"] = _tensor(w).T
            state[prefix + "weight_hh_l0"] = _tensor(u).T
            state[prefix + "bias_ih_l0"] = _tensor(b)
            state[prefix + "bias_hh_l0"] = torch.zeros(4 * hidden)
        else:
            state[prefix + "weight_ih_l0"] = _gru_from_rtneural(_tensor(w).T, hidden)
            state[prefix + "weight_hh_l0"] = _gru_from_rtneural(_tensor(u).T, hidden)
            state[prefix + "bias_ih_l0"] = _gru_from_rtneural(_tensor(b[0]), hidden)
            state[prefix + "bias_hh_l0"] = _gru_from_rtneural(_tensor(b[1]), hidden)
    model.load_state_dict({name: value.contiguous() for name, value in state.items()})
