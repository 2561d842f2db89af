"""Whether an exported recurrent layer's output depends on the state RTNeural carries between `forward` calls.

RTNeural keeps h (and an LSTM's c) from one call to the next until `reset()`. The networks here run their
recurrent layers for one step from a zero state, so in PyTorch neither U nor the LSTM forget gate ever matters.
The exporter therefore writes an LSTM as U = 0 with a forget gate that is exactly 0 in float32: zero forget
columns in W and a forget bias of FORGET_GATE_BIAS. Then the gate input is exactly the bias (x * 0 and h * 0 add
nothing) and sigmoid(-1e4) = 1 / (1 + exp(1e4)) = 1 / inf = 0 in float32 and float64 alike: std::exp, Eigen's
and xsimd's exp all overflow to inf far below 1e4, and sigmoid approximations that clamp saturate to 0 too. With
f = 0 and U = 0, c_t = i * g and h_t = o * tanh(c_t) do not read h_{t-1} or c_{t-1}: one call gives the same
output with or without `reset()`.

A GRU cannot be made state-independent without changing its output: h_t = (1 - z) n + z h_{t-1}, and from a
zero state PyTorch outputs (1 - z) n with a live z; forcing z = 0 (the only way to drop z h_{t-1}) would output
n instead. GRU layers are therefore exported exactly and reported as state-dependent: the plugin must reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Written into the forget block of an LSTM's bias. Any value below about -104 already gives sigmoid == 0.0 in
# float32 even when exp is computed in double and rounded (1 / (1 + e^104) < 2^-150, the float32 rounding-to-zero
# threshold); -1e4 leaves a wide margin and is exactly representable.
FORGET_GATE_BIAS = -1.0e4
# The most a gate bias may be for `layer_state_independent` to count the gate as exactly 0.
MAX_CLOSED_GATE_BIAS = -200.0


def _block(matrix: np.ndarray, index: int, hidden: int) -> np.ndarray:
    return matrix[..., index * hidden : (index + 1) * hidden]


def _closed_gate(w: np.ndarray, bias: np.ndarray) -> bool:
    # Gate input = x.W_gate + h.U_gate + bias; with W_gate = 0 (U checked by the caller) it is exactly the bias.
    return bool(np.all(w == 0.0) and np.all(bias <= MAX_CLOSED_GATE_BIAS))


def layer_state_independent(layer: dict[str, Any]) -> bool:
    """True when a (validated) layer's output cannot depend on the state carried from a previous call."""
    kind = layer["type"]
    if kind not in ("lstm", "gru"):
        return True
    hidden = int(layer["shape"][-1])
    w, u = (np.asarray(a, dtype=np.float64) for a in layer["weights"][:2])
    if np.any(u != 0.0):
        return False
    b = np.asarray(layer["weights"][2], dtype=np.float64)
    if kind == "lstm":  # gate order i, f, c, o: the forget gate multiplies c_{t-1}
        return _closed_gate(_block(w, 1, hidden), _block(b, 1, hidden))
    # GRU z, r, h: z multiplies h_{t-1}; both bias rows feed z.
    return _closed_gate(_block(w, 0, hidden), _block(b[0] + b[1], 0, hidden))


def recurrent_layers(doc: dict[str, Any]) -> list[int]:
    """Indices of the LSTM/GRU layers of a document."""
    return [i for i, layer in enumerate(doc["layers"]) if layer["type"] in ("lstm", "gru")]


def state_independent(doc: dict[str, Any]) -> bool:
    """True when no layer's output depends on carried state (a model without recurrent layers is independent)."""
    return all(layer_state_independent(doc["layers"][i]) for i in recurrent_layers(doc))
