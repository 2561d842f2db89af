"""LayerStack: a network described by an explicit list of layer specs, so export never has to guess.

Each spec names one PyTorch module and the activation that follows it. Recurrent layers run one time step from a
zero state (the plugin resets RTNeural's state before each call), so a [batch, features] input stays 2-D.
The final layer's activation is kept apart: training losses use the pre-activation (BCE-with-logits,
log-softmax) for numerical stability, while `forward` returns what RTNeural computes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

Activation = Literal["tanh", "relu", "sigmoid", "softmax", ""]
RecurrentKind = Literal["lstm", "gru"]
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "softmax", "")


@dataclass(frozen=True)
class DenseSpec:
    """A fully connected layer `name`: in_features -> out_features, then `activation`."""

    name: str
    in_features: int
    out_features: int
    activation: Activation


@dataclass(frozen=True)
class RecurrentSpec:
    """A one-layer LSTM or GRU `name` run for one step from zero state; no activation follows it."""

    name: str
    kind: RecurrentKind
    in_features: int
    out_features: int
    activation: Activation = ""


LayerSpec = DenseSpec | RecurrentSpec


def apply_activation(x: torch.Tensor, activation: str) -> torch.Tensor:
    """Apply one of RTNeural's activation names to x (softmax over the last axis)."""
    if activation == "tanh":
        return torch.tanh(x)
    if activation == "relu":
        return torch.relu(x)
    if activation == "sigmoid":
        return torch.sigmoid(x)
    if activation == "softmax":
        return torch.softmax(x, dim=-1)
    if activation == "":
        return x
    raise ValueError(f"unknown activation {activation!r}; RTNeural knows {ACTIVATIONS}")


def _build(spec: LayerSpec) -> nn.Module:
    if spec.activation not in ACTIVATIONS:
        raise ValueError(f"layer {spec.name}: unknown activation {spec.activation!r}")
    if isinstance(spec, DenseSpec):
        return nn.Linear(spec.in_features, spec.out_features)
    if spec.kind == "lstm":
        return nn.LSTM(spec.in_features, spec.out_features, batch_first=True)
    return nn.GRU(spec.in_features, spec.out_features, batch_first=True)


def recurrent_step_from_zero(layer: nn.Module, kind: str, x: torch.Tensor) -> torch.Tensor:
    """One LSTM/GRU step from a zero state, computed directly.

    With h0 = c0 = 0 the recurrent matmul contributes only its bias, so skipping it computes exactly what
    `layer(x.unsqueeze(1))` computes at a fraction of the cost (tested against nn.LSTM / nn.GRU).
    """
    w_ih, b_ih, b_hh = (layer.get_parameter(name) for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"))
    if kind == "lstm":
        i, f, g, o = torch.nn.functional.linear(x, w_ih, b_ih + b_hh).chunk(4, dim=-1)
        del f  # the forget gate multiplies c0 = 0
        return torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(g))
    xr, xz, xn = torch.nn.functional.linear(x, w_ih, b_ih).chunk(3, dim=-1)
    hr, hz, hn = b_hh.chunk(3)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    return (1.0 - z) * torch.tanh(xn + r * hn)


class LayerStack(nn.Module):
    """A feed-forward chain of dense and one-step recurrent layers built from specs."""

    # Set by each of the five networks; a bare LayerStack (tests, imports) leaves them empty.
    key: ClassVar[str] = ""
    input_size_fixed: ClassVar[int] = 0
    output_size_fixed: ClassVar[int] = 0
    default_architecture: ClassVar[Mapping[str, int]] = {}

    def __init__(self, specs: Sequence[LayerSpec]) -> None:
        super().__init__()
        if not specs:
            raise ValueError("a LayerStack needs at least one layer")
        for previous, current in itertools.pairwise(specs):
            if previous.out_features != current.in_features:
                raise ValueError(
                    f"layer {current.name} takes {current.in_features} inputs but {previous.name} "
                    f"gives {previous.out_features}"
                )
        self.specs: tuple[LayerSpec, ...] = tuple(specs)
        self.layers = nn.ModuleDict({spec.name: _build(spec) for spec in self.specs})

    @property
    def input_size(self) -> int:
        """Number of input features."""
        return self.specs[0].in_features

    @property
    def output_size(self) -> int:
        """Number of outputs."""
        return self.specs[-1].out_features

    @property
    def output_activation(self) -> str:
        """Activation of the last layer (what `forward` applies on top of `preactivation`)."""
        return self.specs[-1].activation

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """Run every layer; the last layer's activation is not applied."""
        last = len(self.specs) - 1
        for index, spec in enumerate(self.specs):
            layer = self.layers[spec.name]
            x = recurrent_step_from_zero(layer, spec.kind, x) if isinstance(spec, RecurrentSpec) else layer(x)
            if index != last:
                x = apply_activation(x, spec.activation)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output exactly as RTNeural computes it (final activation applied)."""
        return apply_activation(self.preactivation(x), self.output_activation)

    def parameter_count(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())
