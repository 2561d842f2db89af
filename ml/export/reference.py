"""An independent forward pass that reads RTNeural JSON exactly as RTNeural computes it (numpy, float64).

It never looks at the PyTorch model: comparing its output with PyTorch's is what proves an export right.
By default state is reset before every sample (`reset_each_call`), so recurrent layers start from zeros;
`stateful=True` carries it from one sample to the next, as RTNeural does when the plugin never calls reset().
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


def _lstm(x: Array, weights: list[Any], hidden: int, stateful: bool) -> Array:
    w, u, b = (np.asarray(a, dtype=x.dtype) for a in weights)
    # The input projection does not depend on state: computing it for all rows at once in both modes means a
    # state-independent layer gives bit-identical outputs stateful or not (same summation order).
    xw = x @ w + b
    if not stateful:
        xw = xw + np.zeros((x.shape[0], hidden), x.dtype) @ u  # h_{t-1} = 0, written out as RTNeural computes it
        return _lstm_gates(xw, np.zeros((x.shape[0], hidden), x.dtype), hidden)[0]
    h, c = np.zeros((1, hidden), x.dtype), np.zeros((1, hidden), x.dtype)  # as after reset()
    out = np.empty((x.shape[0], hidden), x.dtype)
    for t in range(x.shape[0]):  # each row is the next forward() call
        h, c = _lstm_gates(xw[t : t + 1] + h @ u, c, hidden)
        out[t] = h[0]
    return out


def _lstm_gates(z: Array, c: Array, hidden: int) -> tuple[Array, Array]:
    i, f, g, o = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))  # RTNeural i, f, c, o
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def _gru(x: Array, weights: list[Any], hidden: int, stateful: bool) -> Array:
    w, u, b = (np.asarray(a, dtype=x.dtype) for a in weights)
    xw = x @ w + b[0]
    if not stateful:
        return _gru_gates(xw, np.zeros((x.shape[0], hidden), x.dtype), u, b[1], hidden)
    h = np.zeros((1, hidden), x.dtype)
    out = np.empty((x.shape[0], hidden), x.dtype)
    for t in range(x.shape[0]):
        h = _gru_gates(xw[t : t + 1], h, u, b[1], hidden)
        out[t] = h[0]
    return out


def _gru_gates(xw: Array, h: Array, u: Array, b_rec: Array, hidden: int) -> Array:
    hu = h @ u + b_rec
    block = lambda m, k: m[:, k * hidden : (k + 1) * hidden]  # noqa: E731  (RTNeural order z, r, h)
    z = _sigmoid(block(xw, 0) + block(hu, 0))
    r = _sigmoid(block(xw, 1) + block(hu, 1))
    n = np.tanh(block(xw, 2) + r * block(hu, 2))
    return (1.0 - z) * n + z * h


def reference_forward(
    doc: dict[str, Any],
    inputs: npt.ArrayLike,
    *,
    stateful: bool = False,
    dtype: npt.DTypeLike = np.float64,
) -> Array:
    """Run [N, in] inputs through the JSON model; returns [N, out] float64.

    By default each row is an independent call after `reset()`. `stateful=True` runs the rows as consecutive
    `forward()` calls of one RTNeural model reset once before the first: recurrent state carries from row to row.
    `dtype=np.float32` computes in float32 like the plugin (an emulation: summation order differs from RTNeural).
    """
    load_rtneural(doc)
    x = np.atleast_2d(np.asarray(inputs, dtype=np.float64)).astype(dtype)
    if x.ndim != 2 or x.shape[1] != doc["in_shape"][-1]:
        raise ExportError(f"the model takes [N, {doc['in_shape'][-1]}] inputs, got {list(x.shape)}")
    for layer in doc["layers"]:
        kind = layer["type"]
        if kind == "dense":
            kernel = np.asarray(layer["weights"][0], dtype=x.dtype)
            # RTNeural leaves the bias at zero when the weights list holds only the kernel.
            bias = np.asarray(layer["weights"][1], dtype=x.dtype) if len(layer["weights"]) > 1 else x.dtype.type(0)
            x = x @ kernel + bias
        elif kind == "lstm":
            x = _lstm(x, layer["weights"], layer["shape"][-1], stateful)
        elif kind == "gru":
            x = _gru(x, layer["weights"], layer["shape"][-1], stateful)
        # On dense (and standalone activation layers) the activation is applied; RTNeural ignores it on lstm/gru.
        if kind in ("dense", "activation"):
            x = activate(x, layer.get("activation", ""))
    return x.astype(np.float64)
