"""ArrayDataset: a whole data set as two float32 arrays in memory, the unit every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ml.errors import DataError
from ml.models.registry import get_spec

SPLITS = ("train", "validation", "test")


@dataclass
class ArrayDataset:
    """Inputs [N, in] and targets [N, out] for one model, with optional grouping and a published split.

    `groups` ties samples cut from one source file together so a seeded split never leaks windows of one song
    into both train and validation. `split` holds "train" / "validation" / "test" per sample where the data
    set publishes its own split (MAESTRO, Groove MIDI); the trainer then uses it instead of a random one.
    """

    model_key: str
    inputs: npt.NDArray[np.float32]
    targets: npt.NDArray[np.float32]
    groups: npt.NDArray[np.int64] | None = None
    split: npt.NDArray[np.str_] | None = None
    augmented: npt.NDArray[np.bool_] | None = None  # rows made by augmentation: training only, never held out
    source: str = "synthetic"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = np.ascontiguousarray(self.inputs, dtype=np.float32)
        self.targets = np.ascontiguousarray(self.targets, dtype=np.float32)
        self.validate()

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def validate(self) -> None:
        """Check shapes against the model's contract and that every number is finite."""
        spec = get_spec(self.model_key)
        n = self.inputs.shape[0]
        if n == 0:
            raise DataError(f"{self.model_key}: the data set has no usable samples ({self.source})")
        if self.inputs.ndim != 2 or self.inputs.shape[1] != spec.input_size:
            raise DataError(f"{self.model_key}: inputs must be [N, {spec.input_size}], got {self.inputs.shape}")
        if self.targets.shape != (n, spec.output_size):
            raise DataError(f"{self.model_key}: targets must be [{n}, {spec.output_size}], got {self.targets.shape}")
        if not (np.isfinite(self.inputs).all() and np.isfinite(self.targets).all()):
            raise DataError(f"{self.model_key}: the data set contains NaN or infinite values ({self.source})")
        for name, extra in (("groups", self.groups), ("split", self.split), ("augmented", self.augmented)):
            if extra is not None and len(extra) != n:
                raise DataError(f"{self.model_key}: {name} has {len(extra)} entries for {n} samples")
        if self.split is not None:
            unknown = set(np.unique(self.split).tolist()) - set(SPLITS)
            if unknown:
                raise DataError(f"{self.model_key}: unknown split names {sorted(unknown)}; use {SPLITS}")

    def subset(self, index: npt.NDArray[np.int64]) -> ArrayDataset:
        """The samples at `index`, as a new ArrayDataset sharing source and info."""
        return ArrayDataset(
            model_key=self.model_key,
            inputs=self.inputs[index],
            targets=self.targets[index],
            groups=None if self.groups is None else self.groups[index],
            split=None if self.split is None else self.split[index],
            augmented=None if self.augmented is None else self.augmented[index],
            source=self.source,
            info=self.info,
        )
