"""An independent forward pass that reads RTNeural JSON exactly as RTNeural computes it (numpy, float64).

It never looks at the PyTorch model: comparing its output with PyTorch's is what proves an export right.
State is reset before every sample (`reset_each_call`), so recurrent layers start from zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ml.errors import ExportError
from ml.export.document import load_rtneural

Array = npt.NDArray[np.float64]


def _sigmoid(x: Array) -> Array:
    # exp(-log(1 + e^-x)) never overflows (plain 1 / (1 + exp(-x)) warns below x = -709).
    return np.exp(-np.logaddexp(0.0, -x))


def activate(x: Array, name: str) -> Array:
    """RTNeural's activation functions by name."""
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(x))
    return x


def _lstm_step(x: Array, weights: list[Any], hidden: int) -> Array:
    w, u, b = (np.asarray(a, dtype=np.float64) for a in weights)
    h = np.zeros((x.shape[0], hidden))
    c = np.zeros((x.shape[0], hidden))
    z = x @ w + h @ u + b
    i, f, g, o = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))  # RTNeural i, f, c, o
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c)


def _gru_step(x: Array, weights: list[Any], hidden: int) -> Array:
    w, u, b = (np.asarray(a, dtype=np.float64) for a in weights)
    h = np.zeros((x.shape[0], hidden))
    xw, hu = x @ w + b[0], h @ u + b[1]
    block = lambda m, k: m[:, k * hidden : (k + 1) * hidden]  # noqa: E731  (RTNeural order z, r, h)
    z = _sigmoid(block(xw, 0) + block(hu, 0))
    r = _sigmoid(block(xw, 1) + block(hu, 1))
    n = np.tanh(block(xw, 2) + r * block(hu, 2))
    return (1.0 - z) * n + z * h


def reference_forward(doc: dict[str, Any], inputs: npt.ArrayLike) -> Array:
    """Run [N, in] inputs through the JSON model, one independent call per sample; returns [N, out] float64."""
    load_rtneural(doc)
    x = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
    if x.ndim != 2 or x.shape[1] != doc["in_shape"][-1]:
        raise ExportError(f"the model takes [N, {doc['in_shape'][-1]}] inputs, got {list(x.shape)}")
    for layer in doc["layers"]:
        kind = layer["type"]
        if kind == "dense":
            kernel = np.asarray(layer["weights"][0], dtype=np.float64)
            # RTNeural leaves the bias at zero when the weights list holds only the kernel.
            bias = np.asarray(layer["weights"][1], dtype=np.float64) if len(layer["weights"]) > 1 else 0.0
            x = x @ kernel + bias
        elif kind == "lstm":
            x = _lstm_step(x, layer["weights"], layer["shape"][-1])
        elif kind == "gru":
            x = _gru_step(x, layer["weights"], layer["shape"][-1])
        # On dense (and standalone activation layers) the activation is applied; RTNeural ignores it on lstm/gru.
        if kind in ("dense", "activation"):
            x = activate(x, layer.get("activation", ""))
    return x
