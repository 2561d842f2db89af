"""The compile-time RTNeural model type (`RTNeural::ModelT<...>`) of an exported JSON, as a C++ header.

One header per model (`MODEL.modelt.h` beside `MODEL.json`), generated from the same layer list the JSON holds,
so a plugin can use the static API (`ModelT`, faster than the dynamic `Model`) and load the weights with
`model.parseJson(stream, true)`. ModelT's loader walks its layer types and the JSON layers together: a dense
layer whose JSON `activation` is not empty is followed by that activation's `...ActivationT` (it reads the same
JSON layer); LSTM and GRU layers are `LSTMLayerT` / `GRULayerT`. Template names and parameter order are those
of RTNeural's `dense/dense.h`, `lstm/lstm.h`, `gru/gru.h`, `activation/activation.h` and `ModelT.h`.
"""

from __future__ import annotations

from typing import Any

from ml.errors import ExportError
from ml.export.document import load_rtneural, output_size
from ml.export.rtneural import weights_sha256
from ml.export.state import recurrent_layers, state_independent

ACTIVATION_TYPES = {
    "tanh": "TanhActivationT",
    "relu": "ReLuActivationT",
    "sigmoid": "SigmoidActivationT",
    "softmax": "SoftmaxActivationT",
    "elu": "ELuActivationT",  # alpha 1, what RTNeural's JSON loader assumes
}
SCALAR = "float"
# Eigen refuses fixed-size matrices above EIGEN_STACK_ALLOCATION_LIMIT (128 KiB by default) at compile time.
EIGEN_STACK_LIMIT_BYTES = 128 * 1024


def cpp_type_name(model_key: str | None) -> str:
    """`emotion_recognizer` -> `EmotionRecognizerModel`; no key -> `RTNeuralModel`."""
    if not model_key:
        return "RTNeuralModel"
    words = [w for w in model_key.replace("-", "_").split("_") if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) + "Model"
    if not name.isidentifier() or not name.isascii():
        raise ExportError(f"model key {model_key!r} does not make a C++ identifier")
    return name


def modelt_layer_types(doc: dict[str, Any]) -> list[str]:
    """The ModelT layer template arguments, in forward order, for a validated document."""
    size = int(doc["in_shape"][-1])
    types: list[str] = []
    for index, layer in enumerate(doc["layers"]):
        kind, out = layer["type"], int(layer["shape"][-1])
        activation = layer.get("activation", "")
        if kind == "dense":
            bias = "" if len(layer["weights"]) > 1 else ", false"  # DenseT's has_bias
            types.append(f"RTNeural::DenseT<{SCALAR}, {size}, {out}{bias}>")
        elif kind == "lstm":
            types.append(f"RTNeural::LSTMLayerT<{SCALAR}, {size}, {out}>")
        elif kind == "gru":
            types.append(f"RTNeural::GRULayerT<{SCALAR}, {size}, {out}>")
        elif not activation:
            # ModelT has no no-op layer for it, and skipping it would shift every later layer's JSON entry.
            raise ExportError(f"layer {index}: an empty standalone activation layer has no ModelT equivalent")
        if activation and kind in ("dense", "activation"):  # RTNeural ignores "activation" on lstm/gru
            types.append(f"RTNeural::{ACTIVATION_TYPES[activation]}<{SCALAR}, {out}>")
        size = out
    return types


def largest_matrix_bytes(doc: dict[str, Any]) -> int:
    """Bytes of the largest float32 weight matrix ModelT holds as one fixed-size Eigen matrix."""
    size, largest = int(doc["in_shape"][-1]), 0
    for layer in doc["layers"]:
        out = int(layer["shape"][-1])
        gates = {"lstm": 4, "gru": 3}.get(layer["type"], 1)
        if layer["type"] != "activation":
            largest = max(largest, 4 * gates * out * max(size, out if gates > 1 else 0))
        size = out
    return largest


def modelt_header(doc: dict[str, Any], *, json_name: str | None = None, type_name: str | None = None) -> str:
    """C++17 header text declaring `using <Key>Model = RTNeural::ModelT<float, IN, OUT, ...>;` (deterministic)."""
    load_rtneural(doc)
    raw_metadata = doc.get("metadata")
    key = raw_metadata.get("model_key") if isinstance(raw_metadata, dict) else None
    name = type_name or cpp_type_name(key)
    in_size, out_size = int(doc["in_shape"][-1]), output_size(doc)
    digest = weights_sha256(doc["layers"])
    json_file = json_name or f"{key or 'model'}.json"
    layers = ",\n".join(f"    {t}" for t in modelt_layer_types(doc))
    if not recurrent_layers(doc):
        reset_note = "// No recurrent layers: nothing carries over from one forward() to the next.\n"
    elif state_independent(doc):
        reset_note = "// The recurrent layers ignore carried state (state_independent): reset() is optional.\n"
    else:
        reset_note = "// The recurrent layers depend on state: call reset() before every forward().\n"
    eigen_note = (
        "// Eigen backend: a weight matrix exceeds Eigen's fixed-size limit; compile with\n"
        "// -DEIGEN_STACK_ALLOCATION_LIMIT=0 and allocate the model on the heap (std::make_unique).\n"
        if largest_matrix_bytes(doc) > EIGEN_STACK_LIMIT_BYTES
        else ""
    )
    return (
        f"// Generated by mltrain from {json_file} ({key or 'no model_key'}); do not edit.\n"
        f'// Load: {name} model; std::ifstream s("{json_file}"); model.parseJson(s, true);\n'
        f"{reset_note}"
        f"{eigen_note}"
        "#pragma once\n"
        "\n"
        "#include <RTNeural/RTNeural.h>\n"
        "\n"
        f"using {name} = RTNeural::ModelT<{SCALAR}, {in_size}, {out_size},\n"
        f"{layers}>;\n"
        "\n"
        "// sha256 of the JSON's layers (metadata.weights_sha256): check it to pair this type with its file.\n"
        f'inline constexpr const char* {name}WeightsSha256 = "{digest}";\n'
    )
