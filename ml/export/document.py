"""Reading and validating RTNeural model JSON as strictly as the plugin needs (RTNeural itself checks little).

What RTNeural's `json_parser::parseJson` does, and why each check exists:
- it reads `in_shape`, `layers`, and every layer's `type`, `shape` and `weights` with `.at()`, so a missing key
  throws inside the plugin: all are required here;
- it silently skips a layer type it does not know, so a typo loads a different model: refused here;
- an `activation` string it does not know becomes a null layer that crashes at the first `forward`: refused;
- it never checks a kernel's dimensions (missing rows are zero-filled, a square kernel loads transposed): every
  weight array must have exactly the dimensions the shape chain implies;
- nlohmann::json refuses NaN/Infinity tokens: refused, and non-finite values in a dict too.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from ml.errors import ExportError

SUPPORTED_LAYERS = ("dense", "lstm", "gru", "activation")
RTNEURAL_ACTIVATIONS = ("tanh", "relu", "sigmoid", "softmax", "elu", "")
RECURRENT_GATES = {"lstm": 4, "gru": 3}


def _reject_constant(name: str) -> float:
    raise ExportError(f"the JSON contains {name}; RTNeural's parser rejects non-finite numbers")


def load_rtneural(source: Path | str | dict[str, Any]) -> dict[str, Any]:
    """Parse (a path, JSON text or dict) and validate an RTNeural model document; ExportError says what is wrong."""
    if isinstance(source, dict):
        doc = source
    else:
        text = source
        if isinstance(source, Path) or not source.lstrip().startswith("{"):
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(shape: Any) -> int | None:
    """The size a shape like [null, N] names, or None if it is not one (4-D conv2d shapes are not supported)."""
    if not isinstance(shape, list) or not shape or len(shape) == 4 or not _is_int(shape[-1]) or shape[-1] < 1:
        return None
    return int(shape[-1])


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


def _check_weights(kind: str, weights: list[Any], size: int, out: int, where: str) -> None:
    if kind == "dense":
        # RTNeural reads the bias only when present (`weights.size() >= 2`); without it the bias is zero.
        if len(weights) not in (1, 2):
            raise ExportError(f"{where}: dense weights must be [kernel, bias] or [kernel]")
        _matrix(weights[0], size, out, f"{where} dense kernel [in={size}][out={out}]")
        if len(weights) == 2:
            _vector(weights[1], out, f"{where} dense bias")
        return
    gates = RECURRENT_GATES[kind]
    if len(weights) != 3:
        raise ExportError(f"{where}: {kind} weights must be [W, U, b]")
    _matrix(weights[0], size, gates * out, f"{where} {kind} W [in={size}][{gates}H]")
    _matrix(weights[1], out, gates * out, f"{where} {kind} U [H={out}][{gates}H]")
    if kind == "lstm":
        _vector(weights[2], gates * out, f"{where} lstm bias")
    else:
        _matrix(weights[2], 2, gates * out, f"{where} gru bias [2][3H]")


def validate_document(doc: Any) -> None:
    """Check top level, layer types, activations, shape chain and every weight array's dimensions."""
    if not isinstance(doc, dict):
        raise ExportError("an RTNeural model is a JSON object with in_shape and layers")
    size, layers = _size(doc.get("in_shape")), doc.get("layers")
    if size is None:
        raise ExportError("missing or invalid in_shape (expected [null, N]); RTNeural rejects the file")
    if not isinstance(layers, list) or not layers:
        raise ExportError("missing or empty layers list")
    for index, layer in enumerate(layers):
        where = f"layer {index}"
        if not isinstance(layer, dict):
            raise ExportError(f"{where} is not an object")
        kind = layer.get("type")
        if kind not in SUPPORTED_LAYERS:
            # RTNeural silently skips unknown types, which would load a wrong model: refuse instead.
            raise ExportError(f"{where}: unsupported layer type {kind!r} (supported: {', '.join(SUPPORTED_LAYERS)})")
        activation = layer.get("activation", "")
        if not isinstance(activation, str) or activation not in RTNEURAL_ACTIVATIONS:
            raise ExportError(
                f"{where}: activation {activation!r} would crash RTNeural; use one of {RTNEURAL_ACTIVATIONS}"
            )
        out = _size(layer.get("shape"))
        if out is None:
            raise ExportError(f"{where}: missing or invalid shape (expected [null, N])")
        weights = layer.get("weights")
        if not isinstance(weights, list):
            raise ExportError(f"{where}: weights must be a list (RTNeural requires the key on every layer)")
        if kind == "activation":
            # An activation layer is sized by its own shape; a different size from its input misreads memory.
            if out != size:
                raise ExportError(f"{where}: activation shape [null, {out}] does not match its input size {size}")
            continue
        _check_weights(kind, weights, size, out, where)
        size = out


def output_size(doc: dict[str, Any]) -> int:
    """Number of outputs of a validated document."""
    return int(doc["layers"][-1]["shape"][-1])


def final_activation(doc: dict[str, Any]) -> str:
    """The activation RTNeural applies last ("" if the last layer is recurrent or linear)."""
    for layer in reversed(doc["layers"]):
        activation = "" if layer["type"] in RECURRENT_GATES else str(layer.get("activation", ""))
        if activation or layer["type"] != "activation":  # an empty standalone activation changes nothing
            return activation
    return ""


def weights_sha256(layers: list[dict[str, Any]]) -> str:
    """Hash of the canonical JSON of every layer's type, activation, shape and weights."""
    canonical = [
        {
            "type": layer["type"],
            "activation": layer.get("activation", ""),
            "shape": layer["shape"],
            "weights": layer["weights"],
        }
        for layer in layers
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()
