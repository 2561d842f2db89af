"""K copies of one LayerStack architecture trained as one: every weight stacked along a leading trial axis.

Each solo parameter becomes a [K, *shape] view into one of three flat buffers, so the optimizer and the
gradient clipping touch two [K, P] tensors per step instead of one small tensor per layer and trial:
- "decay": weight matrices (AdamW decays them),
- "plain": biases and other 1-D parameters (not decayed, as in `ml.train.optim.parameter_groups`),
- "frozen": parameters the one-step-from-zero forward never uses (the LSTM/GRU recurrent matrices multiply a zero
  state), which the solo optimizer never steps because their gradient stays None.
Dense layers and recurrent gates are one `torch.baddbmm` per layer for all K trials; activations are elementwise.
Weight matrices are stored transposed ([K, in, out]) so bmm reads them as they lie.
The per-trial state dicts use the solo model's keys and shapes, so a trial's checkpoint is an ordinary one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ml.models.layers import ACTIVATIONS, LayerStack, RecurrentSpec, apply_activation

GROUPS = ("decay", "plain", "frozen")


@dataclass(frozen=True)
class Slot:
    """Where one solo parameter lives: its state-dict key, buffer group, offset and shape."""

    name: str
    group: str
    offset: int
    shape: tuple[int, ...]  # as stored: a trained weight matrix is kept transposed, [in, out]
    transposed: bool = False

    @property
    def numel(self) -> int:
        """Number of elements per trial."""
        count = 1
        for size in self.shape:
            count *= size
        return count


def _unused_parameters(template: LayerStack) -> set[str]:
    """Names of parameters that get no gradient from a forward/backward pass (they are never trained solo)."""
    probe = template.preactivation(torch.zeros(2, template.input_size)).sum()
    named = dict(template.named_parameters())
    grads = torch.autograd.grad(probe, list(named.values()), allow_unused=True)
    return {name for name, grad in zip(named, grads, strict=True) if grad is None}


def plan_slots(template: LayerStack) -> list[Slot]:
    """The flat-buffer layout of `template`'s parameters, in state-dict order."""
    unused = _unused_parameters(template)
    offsets = dict.fromkeys(GROUPS, 0)
    slots = []
    for name, param in template.named_parameters():
        group = "frozen" if name in unused else ("decay" if param.ndim >= 2 else "plain")
        # [in, out] storage lets bmm read each weight without a transpose: a transposed operand of a batch with a
        # gap between trials makes bmm copy it, forward and backward.
        transposed = group != "frozen" and param.ndim == 2
        shape = (param.shape[1], param.shape[0]) if transposed else tuple(param.shape)
        slots.append(Slot(name, group, offsets[group], shape, transposed))
        offsets[group] += param.numel()
    return slots


def to_stored(slot: Slot, value: torch.Tensor) -> torch.Tensor:
    """A solo parameter (or its optimizer moment) in the stack's storage layout."""
    stored = value.detach().t() if slot.transposed else value.detach()
    if tuple(stored.shape) != slot.shape:
        raise ValueError(f"{slot.name}: shape {tuple(value.shape)} does not fit the stack's layer")
    return stored


def from_stored(slot: Slot, value: torch.Tensor) -> torch.Tensor:
    """One trial's stored tensor back in the solo layout (a contiguous CPU copy)."""
    solo = value.detach().t() if slot.transposed else value.detach()
    return solo.cpu().contiguous().clone()


class StackedNetwork:
    """K trials of one architecture: stacked parameters, a batched forward, per-trial state dicts."""

    def __init__(self, template: LayerStack, states: Sequence[Mapping[str, torch.Tensor]], device: torch.device):
        if not states:
            raise ValueError("a stack needs at least one trial")
        for spec in template.specs:
            if spec.activation not in ACTIVATIONS:
                raise ValueError(f"layer {spec.name}: unknown activation {spec.activation!r}")
        self.template = template
        self.key = template.key
        self.specs = template.specs
        self.slots = plan_slots(template)
        self.size = len(states)
        self.device = device
        sizes = {g: sum(s.numel for s in self.slots if s.group == g) for g in GROUPS}
        self.buffers = {g: torch.zeros(self.size, sizes[g], device=device) for g in GROUPS}
        self._bind()
        for index, state in enumerate(states):
            self.load_trial(index, state)

    def _bind(self) -> None:
        """Make the decay/plain buffers autograd leaves; forward takes per-slot views of them."""
        for group in ("decay", "plain"):
            self.buffers[group].requires_grad_(True)
        self._sizes = {g: [s.numel for s in self.slots if s.group == g] for g in GROUPS}

    def _views(self) -> dict[str, torch.Tensor]:
        # split_with_sizes, unlike separate slices, backpropagates as one concatenation: the flat gradient
        # arrives as a single dense [K, P] tensor, with no zero-filled full-size tensor per slot.
        views: dict[str, torch.Tensor] = {}
        for group in GROUPS:
            slots = [s for s in self.slots if s.group == group]
            if not slots:
                continue
            pieces = self.buffers[group].split_with_sizes(self._sizes[group], dim=1)
            for slot, piece in zip(slots, pieces, strict=True):
                views[slot.name] = piece.view(self.size, *slot.shape)
        return views

    def _view(self, buffer: torch.Tensor, slot: Slot) -> torch.Tensor:
        return buffer[:, slot.offset : slot.offset + slot.numel].view(buffer.shape[0], *slot.shape)

    def zero_grad(self) -> None:
        """Drop the flat gradients (the next backward allocates them as one concatenation)."""
        for group in ("decay", "plain"):
            self.buffers[group].grad = None

    def load_trial(self, index: int, state: Mapping[str, torch.Tensor]) -> None:
        """Copy one solo state dict into trial `index`."""
        with torch.no_grad():
            for slot in self.slots:
                self._view(self.buffers[slot.group], slot)[index].copy_(to_stored(slot, state[slot.name]))

    def trial_state(self, index: int) -> dict[str, torch.Tensor]:
        """Trial `index`'s weights as a solo state dict (CPU copies, solo key order)."""
        return {slot.name: from_stored(slot, self._view(self.buffers[slot.group], slot)[index]) for slot in self.slots}

    def keep(self, indices: Sequence[int]) -> None:
        """Compact the stack to the trials at `indices` (in that order); gradients are reset."""
        index = torch.as_tensor(list(indices), dtype=torch.long, device=self.device)
        self.buffers = {g: b.detach().index_select(0, index) for g, b in self.buffers.items()}
        self.size = len(indices)
        self._bind()

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """[batch, in] (shared by all trials) or [K, batch, in] -> [K, batch, out]; last activation not applied."""
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.size, *x.shape)
        p = self._views()
        last = len(self.specs) - 1
        for position, spec in enumerate(self.specs):
            prefix = f"layers.{spec.name}."
            if isinstance(spec, RecurrentSpec):
                x = _recurrent_step(spec.kind, x, p[prefix + "weight_ih_l0"], p[prefix + "bias_ih_l0"],
                                    p[prefix + "bias_hh_l0"])  # fmt: skip
            else:
                x = torch.baddbmm(p[prefix + "bias"].unsqueeze(1), x, p[prefix + "weight"])
            if position != last:
                x = apply_activation(x, spec.activation)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Final outputs of every trial, as RTNeural computes them: [K, batch, out]."""
        return self.forward_from(self.preactivation(x))

    def forward_from(self, z: torch.Tensor) -> torch.Tensor:
        """Final outputs from pre-activations (the last layer's activation applied)."""
        return apply_activation(z, self.specs[-1].activation)

    __call__ = forward

    def slot_grad(self, name: str) -> torch.Tensor | None:
        """The [K, *solo shape] gradient of one solo parameter after backward (tests and diagnostics)."""
        slot = next(s for s in self.slots if s.name == name)
        grad = self.buffers[slot.group].grad
        if grad is None:
            return None
        view = self._view(grad, slot)
        return view.transpose(1, 2) if slot.transposed else view


def _recurrent_step(
    kind: str, x: torch.Tensor, w_ih: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor
) -> torch.Tensor:
    """`ml.models.layers.recurrent_step_from_zero` for K trials at once (the zero state skips the recurrent matmul)."""
    if kind == "lstm":
        i, f, g, o = torch.baddbmm((b_ih + b_hh).unsqueeze(1), x, w_ih).chunk(4, dim=-1)
        del f  # the forget gate multiplies c0 = 0
        return torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(g))
    xr, xz, xn = torch.baddbmm(b_ih.unsqueeze(1), x, w_ih).chunk(3, dim=-1)
    hr, hz, hn = b_hh.unsqueeze(1).chunk(3, dim=-1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    return (1.0 - z) * torch.tanh(xn + r * hn)
