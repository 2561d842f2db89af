"""Early stopping: patience, min_delta, a finite-value check and a recorded stop reason.

Two things are tracked apart, as in Lightning's EarlyStopping + ModelCheckpoint: the best weights follow the
lowest validation loss seen (any improvement), while patience is only reset by an improvement larger than
`min_delta` over the last value that counted, so a slow crawl of tiny improvements still stops.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Stop when the validation loss has not improved by `min_delta` for `patience` epochs (0 = never)."""

    patience: int
    min_delta: float
    best: float = math.inf
    best_epoch: int = 0
    reference: float = math.inf
    wait: int = 0
    stop_reason: str | None = None

    def update(self, epoch: int, value: float) -> bool:
        """Record one epoch's validation loss; return True if this epoch has the lowest loss so far."""
        if not math.isfinite(value):
            self.stop_reason = "non_finite_loss"
            return False
        is_best = value < self.best
        if is_best:
            self.best, self.best_epoch = value, epoch
        if value < self.reference - self.min_delta:
            self.reference, self.wait = value, 0
        else:
            self.wait += 1
            if self.patience and self.wait >= self.patience:
                self.stop_reason = "early_stopping"
        return is_best

    @property
    def should_stop(self) -> bool:
        """True once a stop reason has been recorded."""
        return self.stop_reason is not None

    def state_dict(self) -> dict[str, Any]:
        """Plain values for the checkpoint."""
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> EarlyStopping:
        """Rebuild from `state_dict` output."""
        return cls(**state)
