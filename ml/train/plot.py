"""loss_curve.png: train and validation loss per epoch, one panel per model in a grid of up to 3 columns."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ml.io import atomic_path
from ml.models.registry import MODELS

MAX_COLUMNS = 3
LOSS_NAMES = {"mse": "MSE", "bce": "binary cross-entropy", "kl": "KL divergence"}


def loss_name(model_key: str) -> str:
    """The readable name of a model's training loss ("loss" for an unknown key)."""
    spec = MODELS.get(model_key)
    return LOSS_NAMES.get(spec.loss, spec.loss) if spec else "loss"


def best_epoch(rows: list[dict[str, Any]]) -> tuple[int, float] | None:
    """(epoch, val_loss) of the lowest finite validation loss, or None if there is none."""
    finite = [(row["epoch"], float(row["val_loss"])) for row in rows if _finite(row.get("val_loss"))]
    return min(finite, key=lambda pair: pair[1]) if finite else None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def plot_loss_curves(histories: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Draw every model's train/val loss into one PNG (titled panels, legends, best epoch marked), atomically."""
    import matplotlib

    matplotlib.use("Agg")  # headless: workers and CI have no display
    import matplotlib.pyplot as plt

    keys = [key for key, rows in histories.items() if rows]
    if not keys:
        return
    columns = min(len(keys), MAX_COLUMNS)
    lines = math.ceil(len(keys) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4.6 * columns, 3.5 * lines), squeeze=False)
    for index, key in enumerate(keys):
        _panel(axes[index // columns][index % columns], key, histories[key])
    for index in range(len(keys), lines * columns):
        axes[index // columns][index % columns].set_visible(False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def _panel(ax: Any, key: str, rows: list[dict[str, Any]]) -> None:
    epochs = [row["epoch"] for row in rows]
    train = [row.get("train_loss", math.nan) for row in rows]
    val = [row.get("val_loss", math.nan) for row in rows]
    name = loss_name(key)
    ax.plot(epochs, train, label="train", color="#1f6fb4", marker="." if len(rows) < 30 else None)
    ax.plot(epochs, val, label="validation", color="#d9660b", marker="." if len(rows) < 30 else None)
    best = best_epoch(rows)
    if best is not None:
        ax.axvline(best[0], color="#555555", linestyle=":", linewidth=1)
        ax.plot([best[0]], [best[1]], marker="*", markersize=11, color="#2a8a3e", linestyle="none",
                label=f"best epoch {best[0]} ({best[1]:.4g})")  # fmt: skip
    values = [v for v in train + val if _finite(v)]
    if values and min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.set_title(f"{key} · {name}", fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss ({name})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
