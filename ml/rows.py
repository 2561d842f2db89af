"""The exact rows the trainer would use for one model: inputs, targets, group ids and split labels.

`mltrain datasets features` writes them to an .npz so users (and the plugin's C++ feature code) can inspect
and compare them; the split is the trainer's own (`ml.train.split`), from the same seed and fractions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ml.config import TrainConfig
from ml.dataset import ArrayDataset
from ml.pipeline import DataSource, load_training_data
from ml.scoring import column_report
from ml.train.split import Split, split_dataset


def split_labels(n: int, split: Split) -> np.ndarray:
    """A "train" / "validation" / "test" label per row ("unused" for augmented rows of held-out groups)."""
    labels = np.full(n, "unused", dtype="<U10")
    for name, index in (("train", split.train), ("validation", split.validation), ("test", split.test)):
        labels[index] = name
    return labels


def feature_rows(model_key: str, source: DataSource, config: TrainConfig) -> tuple[ArrayDataset, Split]:
    """The model's data set from `source` and the trainer's split of it."""
    dataset = load_training_data(model_key, source, config)
    return dataset, split_dataset(dataset, config.val_split, config.seed, config.test_split)


def write_rows(dataset: ArrayDataset, split: Split, output: Path) -> dict[str, Any]:
    """Write inputs, targets, groups and split labels to `output` (.npz); returns a summary for the user."""
    n = len(dataset)
    groups = dataset.groups if dataset.groups is not None else np.arange(n, dtype=np.int64)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as handle:  # a file handle: numpy would otherwise append .npz to other names
        np.savez_compressed(
            handle, inputs=dataset.inputs, targets=dataset.targets, groups=groups, split=split_labels(n, split)
        )
    return {
        "model_key": dataset.model_key,
        "output": str(output),
        "rows": n,
        "groups": len(np.unique(groups)),
        "splits": split.sizes(),
        "columns": {"inputs": column_report(dataset.inputs), "targets": column_report(dataset.targets)},
        "source": dataset.source,
        "skipped_files": len(dataset.info.get("skipped", [])),
    }
