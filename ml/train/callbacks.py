"""Progress callbacks: how the CLI draws a progress bar and the service records progress and cancels."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class TrainCallbacks:
    """Hooks the trainer calls; every method is a no-op here. Subclass what you need."""

    def on_train_start(self, model_key: str, total_epochs: int, start_epoch: int) -> None:
        """Training of `model_key` starts (start_epoch > 0 when resuming)."""

    def on_epoch_end(self, model_key: str, row: dict[str, Any]) -> None:
        """One epoch finished; `row` is its metrics-history row."""

    def on_resume(self, model_key: str, history: list[dict[str, Any]]) -> None:
        """Training resumes from a checkpoint whose metrics history is `history` (one row per done epoch)."""

    def before_checkpoint(self, model_key: str, epoch: int) -> None:
        """A last checkpoint after `epoch` is about to be written: persist what the epochs so far reported."""

    def on_checkpoint(self, model_key: str, path: Path, epoch: int) -> None:
        """A checkpoint was written atomically."""

    def should_stop(self) -> bool:
        """Polled between batches; True stops training with stop_reason "cancelled", the last full epoch saved."""
        return False
