"""Reading and validating RTNeural model JSON as strictly as the plugin needs (RTNeural itself checks little)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ml.errors import ExportError

SUPPORTED_LAYERS = ("dense", "lstm", "gru", "activation")
RTNEURAL_ACTIVATIONS = ("tanh", "relu", "sigmoid", "softmax", "elu", "")


def _reject_constant(name: str) -> float:
    raise ExportError(f"the JSON contains {name}; RTNeural's parser rejects non-finite numbers")


def load_rtneural(source: Path | str | dict[str, Any]) -> dict[str, Any]:
    """Parse (a path, JSON text or dict) and validate an RTNeural model document; ExportError says what is wrong."""
    if isinstance(source, dict):
        doc = source
    else:
        text = source
        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
            path = Path(source)
            if not path.is_file():
                raise ExportError(f"model JSON not found: {path}")
            try:
                text = path.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise ExportError(f"cannot read {path}: {exc}") from None
        try:
            doc = json.loads(str(text), parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ExportError(f"not valid JSON: {exc}") from None
    validate_document(doc)
    return doc


def _matrix(value: Any, rows: int, cols: int, what: str) -> None:
    if not isinstance(value, list) or len(value) != rows:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise ExportError(f"{what} must have {rows} rows, got {got}")
    for row in value:
        _vector(row, cols, what)


def _vector(value: Any, size: int, what: str) -> None:
    if not isinstance(value, list) or len(value) != size:
        got = len(value) if isinstance(value, list) else type(value).__name__
        raise ExportError(f"{what} must have {size} values per row, got {got}")
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise ExportError(f"{what} holds a non-finite or non-numeric value: {number!r}")


def validate_document(doc: Any) -> None:
    """Check top level, layer types, activations, shape chain and every weight array's dimensions."""
    if not isinstance(doc, dict):
        raise ExportError("an RTNeural model is a JSON object with in_shape and layers")
    in_shape, layers = doc.get("in_shape"), doc.get("layers")
    if not isinstance(in_shape, list) or not in_shape or not isinstance(in_shape[-1], int) or in_shape[-1] < 1:
        raise ExportError("missing or invalid in_shape (expected [null, N]); RTNeural rejects the file")
    if not isinstance(layers, list) or not layers:
        raise ExportError("missing or empty layers list")
    size = in_shape[-1]
    for index, layer in enumerate(layers):
        where = f"layer {index}"
        if not isinstance(layer, dict):
            raise ExportError(f"{where} is not an object")
        kind = layer.get("type")
        if kind not in SUPPORTED_LAYERS:
            # RTNeural silently skips unknown types, which would load a wrong model: refuse instead.
            raise ExportError(f"{where}: unsupported layer type {kind!r} (supported: {', '.join(SUPPORTED_LAYERS)})")
        activation = layer.get("activation", "")
        if activation not in RTNEURAL_ACTIVATIONS:
            raise ExportError(
                f"{where}: activation {activation!r} would crash RTNeural; use one of {RTNEURAL_ACTIVATIONS}"
            )
        shape = layer.get("shape")
        if kind == "activation":
            if shape is not None and (not isinstance(shape, list) or shape[-1] != size):
                raise ExportError(f"{where}: activation shape {shape} does not match its input size {size}")
            continue
        if not isinstance(shape, list) or not shape or not isinstance(shape[-1], int) or shape[-1] < 1:
            raise ExportError(f"{where}: missing or invalid shape")
        out = shape[-1]
        weights = layer.get("weights")
        if not isinstance(weights, list):
            raise ExportError(f"{where}: weights must be a list")
        if kind == "dense":
            if len(weights) != 2:
                raise ExportError(f"{where}: dense weights must be [kernel, bias]")
            _matrix(weights[0], size, out, f"{where} dense kernel [in={size}][out={out}]")
            _vector(weights[1], out, f"{where} dense bias")
        else:
            gates = 4 if kind == "lstm" else 3
            if len(weights) != 3:
                raise ExportError(f"{where}: {kind} weights must be [W, U, b]")
            _matrix(weights[0], size, gates * out, f"{where} {kind} W [in={size}][{gates}H]")
            _matrix(weights[1], out, gates * out, f"{where} {kind} U [H={out}][{gates}H]")
            if kind == "lstm":
                _vector(weights[2], gates * out, f"{where} lstm bias")
            else:
                _matrix(weights[2], 2, gates * out, f"{where} gru bias [2][3H]")
        size = out
