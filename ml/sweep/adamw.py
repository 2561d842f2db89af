"""AdamW over stacked [K, P] tensors with a learning rate, weight decay and clip norm per trial.

The update is torch.optim.AdamW's (decoupled decay `p *= 1 - lr * wd` first, then Adam with bias correction,
`denom = sqrt(v) / sqrt(1 - beta2^t) + eps`, `p -= lr / (1 - beta1^t) * m / denom`), as its fused CPU kernel
computes it, in float32 with the per-step scalars formed in float64; tests hold it to the fused optimizer.
Per-trial values are [K, 1] columns broadcast over a trial's row. A trial that is not active this step keeps
its weights and moments bit for bit (its gradient row is zeroed, its step size is 0 and its beta2 is 1).
Buffers are updated in column chunks small enough to stay in cache: the ~10 elementwise passes of an unfused
update then cost about one pass over memory, as the fused kernel does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import torch

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.AdamW's defaults, which make_optimizer uses
CHUNK_BYTES = 256 * 1024  # per [K, chunk] slice: several such slices fit in a core's L2 cache
CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s: coef = max_norm / (norm + 1e-6)


class StackedAdamW:
    """Moments and step counts for K trials over named [K, P] parameter buffers."""

    def __init__(self, buffers: Mapping[str, torch.Tensor], decayed: Sequence[str]) -> None:
        self.decayed = set(decayed)
        first = next(iter(buffers.values()))
        self.size = first.shape[0]
        self.exp_avg = {name: torch.zeros_like(b, requires_grad=False) for name, b in buffers.items()}
        self.exp_avg_sq = {name: torch.zeros_like(b, requires_grad=False) for name, b in buffers.items()}
        self.steps = np.zeros(self.size, dtype=np.int64)

    def keep(self, indices: Sequence[int]) -> None:
        """Compact the state to the trials at `indices`, as StackedNetwork.keep does to the weights."""
        index = torch.as_tensor(list(indices), dtype=torch.long, device=next(iter(self.exp_avg.values())).device)
        self.exp_avg = {n: t.index_select(0, index) for n, t in self.exp_avg.items()}
        self.exp_avg_sq = {n: t.index_select(0, index) for n, t in self.exp_avg_sq.items()}
        self.steps = self.steps[list(indices)]
        self.size = len(indices)

    @torch.no_grad()
    def step(
        self,
        params: Mapping[str, torch.Tensor],
        lr: npt.NDArray[np.float64],
        weight_decay: npt.NDArray[np.float64],
        max_norm: npt.NDArray[np.float64],
        active: npt.NDArray[np.bool_],
    ) -> None:
        """Clip each active trial's gradients to its max_norm (0 = off), then one AdamW step for active trials."""
        grads = {name: p.grad for name, p in params.items() if p.grad is not None}
        device = next(iter(grads.values())).device
        inactive = np.flatnonzero(~active)
        if len(inactive):
            rows = torch.as_tensor(inactive, device=device)
            for grad in grads.values():
                grad.index_fill_(0, rows, 0.0)  # a NaN row of a stopped trial must not reach its moments
        coef = _clip_coefficients(grads.values(), max_norm, device)
        self.steps += active
        t = np.maximum(self.steps, 1).astype(np.float64)
        step_size = np.where(active, lr / (1.0 - BETA1**t), 0.0)
        bc2_sqrt = np.sqrt(1.0 - BETA2**t)
        decay = np.where(active, 1.0 - lr * weight_decay, 1.0)
        beta2 = np.where(active, BETA2, 1.0)
        lerp_weight = np.where(active, 1.0 - BETA1, 0.0)
        column = _columns(device, step_size=step_size, bc2_sqrt=bc2_sqrt, decay=decay, beta2=beta2, lerp=lerp_weight)
        for name, grad in grads.items():
            param = params[name].detach()
            m, v = self.exp_avg[name], self.exp_avg_sq[name]
            chunk = max(1024, CHUNK_BYTES // (4 * self.size))
            for begin in range(0, param.shape[1], chunk):
                cols = slice(begin, begin + chunk)
                p_c, g_c, m_c, v_c = param[:, cols], grad[:, cols], m[:, cols], v[:, cols]
                if coef is not None:
                    g_c.mul_(coef)
                if name in self.decayed:
                    p_c.mul_(column["decay"])
                m_c.lerp_(g_c, column["lerp"])
                v_c.mul_(column["beta2"]).addcmul_(g_c, g_c, value=1.0 - BETA2)
                denom = v_c.sqrt().div_(column["bc2_sqrt"]).add_(EPS)
                p_c.sub_(m_c.mul(column["step_size"]).div_(denom))


def _columns(device: torch.device, **values: npt.NDArray[np.float64]) -> dict[str, torch.Tensor]:
    """Per-trial float64 scalars as float32 [K, 1] columns (the fused kernel also rounds them to the dtype)."""
    return {name: torch.from_numpy(v.astype(np.float32)).to(device).unsqueeze(1) for name, v in values.items()}


def _clip_coefficients(grads: object, max_norm: npt.NDArray[np.float64], device: torch.device) -> torch.Tensor | None:
    """[K, 1] factors min(1, max_norm / (norm + 1e-6)) of each trial's global gradient norm; 1 where clipping is off."""
    if not np.any(max_norm > 0):
        return None
    squares = sum(torch.linalg.vector_norm(g, dim=1).square() for g in grads)  # type: ignore[attr-defined]
    norms = torch.as_tensor(squares).sqrt()
    limit = torch.from_numpy(max_norm.astype(np.float32)).to(device)
    coef = torch.clamp(limit / (norms + CLIP_EPS), max=1.0)
    return torch.where(limit > 0, coef, torch.ones_like(coef)).unsqueeze(1)


def adam_state_for_trial(exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
    """One parameter's entry in a torch.optim.AdamW state dict (float32 step, as the fused optimizer keeps it)."""
    return {"step": torch.tensor(float(step), dtype=torch.float32), "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}


def steps_from_state(state: Mapping[str, object]) -> int:
    """The step count of a torch.optim.AdamW per-parameter state entry."""
    step = state["step"]
    return int(step.item()) if isinstance(step, torch.Tensor) else math.floor(float(step))  # type: ignore[arg-type]
