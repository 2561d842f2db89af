"""Train / validation / test indices: the data set's published split, else a seeded split by source group.

Rules (every evaluation depends on them, so they are strict):
- A group is one source (a song, tune, performance or file, or several that a loader knows are versions of one
  piece). A group never straddles two splits; a published split that puts one group on two sides is refused.
- Published split: used as it is. If it names no test set, test groups are drawn (seeded) from its training
  groups; if it names no validation set, validation groups are drawn from its training groups.
- No published split: groups are shuffled with `seed`; `test_split` and `val_split` of all groups (rounded, at
  least one each) are held out, the rest train. Fewer than 3 groups cannot give three sides: refused, with the fix.
- Augmented rows follow their source's group into training and never into validation or test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ml.dataset import ArrayDataset
from ml.errors import DataError

IndexArray = npt.NDArray[np.int64]
MIN_GROUPS = 3


@dataclass(frozen=True)
class Split:
    """Sample indices per split (all three non-empty) and where the split came from."""

    train: IndexArray
    validation: IndexArray
    test: IndexArray
    published: bool

    @property
    def evaluation(self) -> IndexArray:
        """Held-out indices that final metrics are reported on: the test split."""
        return self.test

    def sizes(self) -> dict[str, int | str]:
        """Row counts per split and the split's origin, for reports."""
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
            "source": "published" if self.published else "seeded by group",
        }


def _groups_of(dataset: ArrayDataset) -> npt.NDArray[np.int64]:
    n = len(dataset)
    return dataset.groups if dataset.groups is not None else np.arange(n, dtype=np.int64)


def _check_published(dataset: ArrayDataset, groups: npt.NDArray[np.int64]) -> None:
    assert dataset.split is not None
    pairs = np.unique(np.stack([groups, np.unique(dataset.split, return_inverse=True)[1]]), axis=1)
    ids, counts = np.unique(pairs[0], return_counts=True)
    straddling = ids[counts > 1]
    if len(straddling):
        sides = sorted(set(dataset.split[groups == straddling[0]].tolist()))
        raise DataError(
            f"{dataset.model_key}: the published split puts one source (group {int(straddling[0])}) on "
            f"{' and '.join(sides)} ({len(straddling)} such groups); fix the data set's split file so each song "
            "or file is in one split only"
        )


def _draw(candidates: npt.NDArray[np.int64], count: int, rng: np.random.Generator, keep: int) -> npt.NDArray[np.int64]:
    """`count` seeded picks from `candidates` (at least 1), leaving at least `keep` of them undrawn."""
    count = min(max(1, count), len(candidates) - keep)
    return rng.permutation(candidates)[:count]


def split_dataset(dataset: ArrayDataset, val_split: float, seed: int, test_split: float = 0.2) -> Split:
    """Split indices into train / validation / test by group, per the rules in the module docstring."""
    n = len(dataset)
    original = np.ones(n, dtype=bool) if dataset.augmented is None else ~dataset.augmented
    groups = _groups_of(dataset)
    rng = np.random.default_rng(seed)
    names = np.full(n, "train", dtype=object)
    published = dataset.split is not None
    if published:
        assert dataset.split is not None
        _check_published(dataset, groups)
        names[:] = dataset.split
    present = set(names[original].tolist())
    needed = [side for side in ("test", "validation") if side not in present]
    train_groups = np.unique(groups[original & (names == "train")])
    if len(train_groups) < len(needed) + 1:
        total = len(np.unique(groups[original]))
        raise DataError(
            f"{dataset.model_key}: {total} source file(s) or song(s) cannot give separate train, validation and "
            f"test sets (need at least {MIN_GROUPS}); add files to the data set"
            + (" or publish all three splits" if published else "")
        )
    fractions = {"test": test_split, "validation": val_split}
    total_groups = len(np.unique(groups[original]))
    for position, side in enumerate(needed):
        count = round(total_groups * fractions[side])  # shares of all groups, not of what is left
        keep = len(needed) - position  # one group for each side still to draw, and one to train on
        drawn = _draw(np.unique(groups[original & (names == "train")]), count, rng, keep=keep)
        names[np.isin(groups, drawn) & original] = side
    # Augmented rows of a held-out group are dropped: they must never be trained or scored on.
    held_out_group = np.isin(groups, np.unique(groups[original & (names != "train")]))
    train = np.flatnonzero((names == "train") & ~held_out_group)
    validation = np.flatnonzero((names == "validation") & original)
    test = np.flatnonzero((names == "test") & original)
    for side, index in (("validation", validation), ("test", test), ("train", train)):
        if len(index) == 0:
            raise DataError(f"{dataset.model_key}: the {side} split is empty; add files or change the split")
    return Split(train.astype(np.int64), validation.astype(np.int64), test.astype(np.int64), published)
