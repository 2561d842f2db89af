"""The optimizer and the learning-rate schedule (the usual defaults, as in nanoGPT's configure_optimizers).

- AdamW with decoupled weight decay on weight matrices only: biases (every parameter with fewer than 2
  dimensions) are not decayed, since shrinking an offset toward 0 regularises nothing useful.
- The learning rate is set before every optimizer step: a linear warm-up over `warmup_steps`, then
  "cosine" decay to `min_lr_ratio * lr` at the last planned step, "constant", or "plateau" (the rate is halved
  after `plateau_patience` epochs without a validation improvement). One small object owns all three so the
  whole state (step, plateau scale, best loss) lives in the checkpoint and resume is exact; torch's
  ReduceLROnPlateau writes the rate itself and cannot be chained after a warm-up.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ml.config import SCHEDULES

PLATEAU_FACTOR = 0.5
PLATEAU_THRESHOLD = 1e-4  # relative improvement that resets the plateau counter (torch's default)


__all__ = ["SCHEDULES", "LrSchedule", "clip_gradients", "make_optimizer", "parameter_groups"]


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW groups: weight matrices decayed by `weight_decay`, biases and other 1-D parameters not."""
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    """AdamW over `parameter_groups`; fused (one kernel per step) where this build and device support it."""
    groups = parameter_groups(model, weight_decay)
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=lr, foreach=device.type != "cpu")


@dataclass
class LrSchedule:
    """Per-step learning rate: warm-up, then cosine / constant / reduce-on-plateau; serialisable for resume."""

    kind: str
    base_lr: float
    total_steps: int
    warmup_steps: int
    min_lr_ratio: float = 0.1
    plateau_patience: int = 3
    step: int = 0
    plateau_scale: float = 1.0
    plateau_best: float = math.inf
    plateau_wait: int = 0

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step `step` (0-based)."""
        if self.warmup_steps and step < self.warmup_steps:
            factor = (step + 1) / self.warmup_steps
        elif self.kind == "cosine":
            span = max(self.total_steps - self.warmup_steps - 1, 1)
            progress = min(max((step - self.warmup_steps) / span, 0.0), 1.0)
            factor = self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        else:
            factor = 1.0
        return self.base_lr * factor * (self.plateau_scale if self.kind == "plateau" else 1.0)

    def apply(self, optimizer: torch.optim.Optimizer) -> float:
        """Set the rate of the next step on every parameter group, count the step, and return the rate."""
        lr = self.lr_at(self.step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        self.step += 1
        return lr

    def end_epoch(self, val_loss: float) -> None:
        """Plateau bookkeeping after an epoch's validation loss (no effect on the other kinds)."""
        if self.kind != "plateau" or not math.isfinite(val_loss):
            return
        if val_loss < self.plateau_best * (1 - PLATEAU_THRESHOLD):
            self.plateau_best, self.plateau_wait = val_loss, 0
            return
        self.plateau_wait += 1
        if self.plateau_wait > self.plateau_patience:
            self.plateau_scale *= PLATEAU_FACTOR
            self.plateau_wait = 0

    def state_dict(self) -> dict[str, Any]:
        """The plan and the progress, for the checkpoint."""
        return asdict(self)

    def restore_progress(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's progress (step count and plateau state), keeping this schedule's plan."""
        for name in ("step", "plateau_scale", "plateau_best", "plateau_wait"):
            setattr(self, name, state[name])


def clip_gradients(model: torch.nn.Module, max_norm: float) -> None:
    """Scale all gradients so their global L2 norm is at most `max_norm` (0 = off)."""
    if max_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
