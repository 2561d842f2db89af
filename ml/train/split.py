"""Train / validation / test indices: the data set's published split, else a seeded split by source group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ml.dataset import ArrayDataset
from ml.errors import DataError

IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    """Sample indices per split; `test` is empty when the data set publishes none."""

    train: IndexArray
    validation: IndexArray
    test: IndexArray
    published: bool

    @property
    def evaluation(self) -> IndexArray:
        """Held-out indices to report final metrics on: test if published, else validation."""
        return self.test if len(self.test) else self.validation


def split_dataset(dataset: ArrayDataset, val_split: float, seed: int) -> Split:
    """Split indices; samples of one source group never straddle train and validation."""
    n = len(dataset)
    original = np.ones(n, dtype=bool) if dataset.augmented is None else ~dataset.augmented
    if dataset.split is not None and {"train", "validation"} <= set(dataset.split.tolist()):

        def pick(name: str, held_out: bool) -> IndexArray:
            mask = (dataset.split == name) & (original if held_out else True)
            return np.flatnonzero(mask).astype(np.int64)

        return Split(pick("train", False), pick("validation", True), pick("test", True), published=True)
    groups = dataset.groups if dataset.groups is not None else np.arange(n, dtype=np.int64)
    unique = np.unique(groups[original])
    if len(unique) < 2:
        raise DataError(f"{dataset.model_key}: need at least 2 samples (or source files) to split, got {len(unique)}")
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(unique)
    n_val = min(max(1, round(len(unique) * val_split)), len(unique) - 1)
    val_groups = shuffled[:n_val]
    is_val = np.isin(groups, val_groups)
    empty = np.empty(0, dtype=np.int64)
    # Augmented rows follow their source file's group into training, and never into validation.
    validation = np.flatnonzero(is_val & original).astype(np.int64)
    return Split(np.flatnonzero(~is_val).astype(np.int64), validation, empty, False)
