"""loss_curve.png: train and validation loss per epoch, one panel per model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml.io import atomic_path


def plot_loss_curves(histories: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Draw every model's train/val loss (log scale) into one PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")  # headless: workers and CI have no display
    import matplotlib.pyplot as plt

    keys = [key for key, rows in histories.items() if rows]
    if not keys:
        return
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        rows = histories[key]
        epochs = [row["epoch"] for row in rows]
        ax.plot(epochs, [row["train_loss"] for row in rows], label="train")
        ax.plot(epochs, [row["val_loss"] for row in rows], label="validation")
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("loss")
    axes[0][0].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
