"""Training progress for the terminal: a one-line bar on a TTY, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ml.train.callbacks import TrainCallbacks


class ConsoleProgress(TrainCallbacks):
    """Draws per-epoch progress to stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total = 0
        self.started = time.monotonic()

    def on_train_start(self, model_key: str, total_epochs: int, start_epoch: int) -> None:
        """Remember the epoch count; say when resuming."""
        self.total = total_epochs
        self.started = time.monotonic()
        resumed = f" (resuming after epoch {start_epoch})" if start_epoch else ""
        self.stream.write(f"{model_key}: training {total_epochs} epochs{resumed}\n")

    def on_epoch_end(self, model_key: str, row: dict[str, Any]) -> None:
        """Draw the bar (TTY) or print a line."""
        epoch = int(row["epoch"])
        text = f"{model_key} epoch {epoch}/{self.total} train {row['train_loss']:.4g} val {row['val_loss']:.4g}"
        if self.tty:
            width = 24
            filled = round(width * epoch / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}   ")
            if epoch >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
