"""PyTorch LayerStack -> RTNeural JSON, from the model's explicit layer specs (never guessed from names)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.errors import ExportError
from ml.export.document import validate_document, weights_sha256
from ml.export.state import FORGET_GATE_BIAS, state_independent
from ml.io import write_json_atomic
from ml.models import DenseSpec, LayerStack
from ml.normalize import FeatureNormalizer

EXPORT_FORMAT_VERSION = 1


def _values(tensor: torch.Tensor | np.ndarray) -> list[Any]:
    # float32 values become the Python floats that represent them exactly, so JSON -> PyTorch -> JSON is lossless.
    array = tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else tensor
    array = np.asarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise ExportError("the model has NaN or infinite weights; RTNeural cannot load them")
    return array.tolist()


def _gru_reorder(matrix: torch.Tensor, hidden: int) -> torch.Tensor:
    """PyTorch packs GRU gates r, z, n along dim 0; RTNeural expects z, r, h."""
    r, z, n = matrix[:hidden], matrix[hidden : 2 * hidden], matrix[2 * hidden :]
    return torch.cat([z, r, n], dim=0)


def _cpu_state(model: LayerStack) -> dict[str, torch.Tensor]:
    # A model trained on a GPU exports the same numbers; the fold below mixes in CPU tensors.
    return {name: value.detach().cpu() for name, value in model.state_dict().items()}


def folded_first_layer(model: LayerStack, normalizer: FeatureNormalizer | None) -> tuple[torch.Tensor, torch.Tensor]:
    """First dense layer's (weight, bias) with x_norm = (x - offset) / scale folded in: W' = W / s, b' = b - W' o."""
    first = model.specs[0]
    if not isinstance(first, DenseSpec):
        raise ExportError(
            f"input normalization can only be folded into a dense first layer; {model.key or 'this model'} starts "
            f"with a {first.kind} layer, so only an identity normalizer (or none) can be exported"
        )
    params = _cpu_state(model)
    # The fold is computed in float64 and rounded once to float32, so it adds one rounding per weight.
    weight = params[f"layers.{first.name}.weight"].double()
    bias = params[f"layers.{first.name}.bias"].double()
    if normalizer is not None and not normalizer.is_identity:
        if normalizer.offset.shape != (first.in_features,) or normalizer.scale.shape != (first.in_features,):
            raise ExportError(
                f"the normalizer has {normalizer.offset.size} features, the model takes {first.in_features}"
            )
        scale = torch.from_numpy(normalizer.scale.astype(np.float64))
        offset = torch.from_numpy(normalizer.offset.astype(np.float64))
        weight = weight / scale[None, :]
        bias = bias - weight @ offset
    return weight.float(), bias.float()


def _state_free_lstm(
    w_ih: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor, hidden: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W, U, b) of a one-step-from-zero LSTM that ignores carried state: U = 0, forget gate exactly 0.

    From h0 = c0 = 0 PyTorch never uses U or the forget gate, so this computes the same step; in RTNeural it also
    makes a call without reset() equal one after it (see ml/export/state.py for why f is exactly 0).
    """
    forget = slice(hidden, 2 * hidden)  # gate order i, f, g, o
    w_ih, bias = w_ih.clone(), bias.clone()
    w_ih[forget] = 0.0
    bias[forget] = FORGET_GATE_BIAS
    return w_ih, torch.zeros_like(w_hh), bias


def _layers(
    model: LayerStack, normalizer: FeatureNormalizer | None, *, state_free: bool = True
) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    params = _cpu_state(model)
    for index, spec in enumerate(model.specs):
        p = lambda name, spec=spec: params[f"layers.{spec.name}.{name}"]  # noqa: E731
        shape = [None, spec.out_features]
        if isinstance(spec, DenseSpec):
            if index == 0:
                weight, bias = folded_first_layer(model, normalizer)
            else:
                weight, bias = p("weight"), p("bias")
            layers.append(
                {
                    "type": "dense",
                    "name": spec.name,
                    "activation": spec.activation,
                    "shape": shape,
                    "weights": [_values(weight.T), _values(bias)],
                }
            )
            continue
        if index == 0 and normalizer is not None and not normalizer.is_identity:
            folded_first_layer(model, normalizer)  # raises: a recurrent first layer cannot absorb it
        hidden = spec.out_features
        w_ih, w_hh = p("weight_ih_l0"), p("weight_hh_l0")
        b_ih, b_hh = p("bias_ih_l0"), p("bias_hh_l0")
        if spec.kind == "lstm":
            w, u, b = _state_free_lstm(w_ih, w_hh, b_ih + b_hh, hidden) if state_free else (w_ih, w_hh, b_ih + b_hh)
            weights = [_values(w.T), _values(u.T), _values(b)]
        else:
            # Exact weights: a GRU cannot drop z * h_{t-1} without changing (1 - z) * n (ml/export/state.py).
            weights = [
                _values(_gru_reorder(w_ih, hidden).T),
                _values(_gru_reorder(w_hh, hidden).T),
                [_values(_gru_reorder(b_ih, hidden)), _values(_gru_reorder(b_hh, hidden))],
            ]
        # RTNeural ignores "activation" on recurrent layers; "" keeps the file unambiguous.
        layers.append({"type": spec.kind, "name": spec.name, "activation": "", "shape": shape, "weights": weights})
    return layers


def export_rtneural(
    model: LayerStack,
    normalizer: FeatureNormalizer | None,
    *,
    run_id: str | None = None,
    extra_metadata: dict[str, Any] | None = None,
    state_free: bool = True,
) -> dict[str, Any]:
    """The RTNeural JSON document of `model`, with the input normalizer folded into the first dense layer.

    `state_free=False` writes LSTMs with their trained U and forget gate (the format before state independence).
    """
    layers = _layers(model, normalizer, state_free=state_free)
    metadata: dict[str, Any] = {
        "model_key": model.key or None,
        "export_format_version": EXPORT_FORMAT_VERSION,
        "input_size": model.input_size,
        "output_size": model.output_size,
        "parameter_count": model.parameter_count(),
        # Kept for older readers: resetting before every call is always right for one-step-from-zero models.
        # state_independent says whether skipping reset() computes the same (false only with a GRU, or old files).
        "reset_each_call": True,
        "state_independent": state_independent({"layers": layers}),
        "input_normalization": "folded" if normalizer is not None and not normalizer.is_identity else "none",
        "weights_sha256": weights_sha256(layers),
        "run_id": run_id,
        "torch_version": torch.__version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    clashes = sorted(set(metadata) & set(extra_metadata or {}))
    if clashes:
        raise ExportError(f"extra metadata may not replace {', '.join(clashes)}")
    metadata.update(extra_metadata or {})
    doc = {"in_shape": [None, model.input_size], "layers": layers, "metadata": metadata}
    validate_document(doc)
    return doc


def write_rtneural(doc: dict[str, Any], path: Path) -> None:
    """Validate and write the document atomically (NaN/Infinity refused)."""
    validate_document(doc)
    try:
        write_json_atomic(Path(path), doc, indent=None)
    except (ValueError, TypeError) as exc:  # NaN in metadata, or a value JSON cannot hold
        raise ExportError(f"cannot write {path}: {exc}") from None
