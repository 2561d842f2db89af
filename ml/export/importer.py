"""RTNeural JSON -> PyTorch LayerStack, so models already shipped in the plugin can be evaluated or re-exported.

LSTM: RTNeural stores one bias (bias_ih + bias_hh); it is loaded as bias_ih with bias_hh = 0, which computes the
same and re-exports to the identical JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.errors import ExportError
from ml.export.document import load_rtneural
from ml.models import DenseSpec, LayerSpec, LayerStack, RecurrentSpec, build_model, get_spec


def _tensor(value: Any) -> torch.Tensor:
    return torch.from_numpy(np.asarray(value, dtype=np.float32))


def _gru_from_rtneural(matrix: torch.Tensor, hidden: int) -> torch.Tensor:
    """RTNeural z, r, h blocks along dim 0 back to PyTorch's r, z, n."""
    z, r, n = matrix[:hidden], matrix[hidden : 2 * hidden], matrix[2 * hidden :]
    return torch.cat([r, z, n], dim=0)


def _specs_from_doc(doc: dict[str, Any], names: list[str] | None) -> list[LayerSpec]:
    specs: list[LayerSpec] = []
    size = doc["in_shape"][-1]
    for index, layer in enumerate(doc["layers"]):
        kind = layer["type"]
        if kind == "activation":
            raise ExportError(
                "standalone activation layers are not supported by the importer (mltrain never writes them)"
            )
        out = int(layer["shape"][-1])
        name = names[index] if names else layer.get("name") or f"layer{index}"
        if kind == "dense":
            specs.append(DenseSpec(name, size, out, layer.get("activation", "")))
        else:
            specs.append(RecurrentSpec(name, kind, size, out))
        size = out
    return specs


def model_from_rtneural(source: Path | str | dict[str, Any], model_key: str | None = None) -> LayerStack:
    """Rebuild a PyTorch model from RTNeural JSON; the model key comes from metadata when not given."""
    doc = load_rtneural(source)
    key = model_key or (doc.get("metadata") or {}).get("model_key")
    if key:
        spec = get_spec(key)
        template = build_model(key)
        names = [s.name for s in template.specs]
        if len(names) != len(doc["layers"]):
            raise ExportError(f"the JSON has {len(doc['layers'])} layers, {key} has {len(names)}")
        specs = _specs_from_doc(doc, names)
        for mine, theirs in zip(specs, template.specs, strict=True):
            if type(mine) is not type(theirs) or mine.activation != theirs.activation:
                raise ExportError(f"layer {mine.name}: the JSON does not match {key}'s architecture")
        if specs[0].in_features != spec.input_size or specs[-1].out_features != spec.output_size:
            raise ExportError(
                f"the JSON maps {specs[0].in_features} -> {specs[-1].out_features}, {key} is "
                f"{spec.input_size} -> {spec.output_size}"
            )
        architecture = {s.name: s.out_features for s in specs if s.name in spec.default_architecture}
        model = build_model(key, architecture)
    else:
        model = LayerStack(_specs_from_doc(doc, None))
    _load_weights(model, doc)
    return model.eval()


def _load_weights(model: LayerStack, doc: dict[str, Any]) -> None:
    state: dict[str, torch.Tensor] = {}
    for spec, layer in zip(model.specs, doc["layers"], strict=True):
        prefix = f"layers.{spec.name}."
        if isinstance(spec, DenseSpec):
            kernel, bias = layer["weights"]
            state[prefix + "weight"] = _tensor(kernel).T
            state[prefix + "bias"] = _tensor(bias)
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
