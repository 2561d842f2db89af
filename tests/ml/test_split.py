"""Train / validation / test splitting: grouped, seeded, published where given, refusing what cannot work."""

from __future__ import annotations

import numpy as np
import pytest

from ml.dataset import ArrayDataset
from ml.errors import DataError
from ml.synthetic import make_synthetic
from ml.train.split import split_dataset


def _grouped(n_groups: int, per_group: int = 3, split: list[str] | None = None) -> ArrayDataset:
    base = make_synthetic("groove_predictor", n_groups * per_group, seed=0)
    groups = np.repeat(np.arange(n_groups), per_group)
    labels = None if split is None else np.repeat(np.asarray(split), per_group)
    return ArrayDataset("groove_predictor", base.inputs, base.targets, groups=groups, split=labels)


def test_seeded_split_holds_out_whole_groups_in_exact_shares() -> None:
    data = _grouped(20)
    split = split_dataset(data, 0.2, seed=3, test_split=0.25)
    sides = [set(data.groups[index].tolist()) for index in (split.train, split.validation, split.test)]  # type: ignore[index]
    assert [len(s) for s in sides] == [11, 4, 5]  # 20 groups: 5 test (25 %), 4 validation (20 %), 11 train
    assert sides[0].isdisjoint(sides[1]) and sides[0].isdisjoint(sides[2]) and sides[1].isdisjoint(sides[2])
    assert len(split.train) + len(split.validation) + len(split.test) == 60
    again = split_dataset(data, 0.2, seed=3, test_split=0.25)
    assert np.array_equal(again.test, split.test)
    assert not np.array_equal(split_dataset(data, 0.2, seed=4, test_split=0.25).test, split.test)
    assert split.evaluation is split.test and not split.published


def test_three_groups_is_the_minimum_and_two_is_refused_with_the_fix() -> None:
    split = split_dataset(_grouped(3), 0.2, seed=0)
    assert [len(split.train), len(split.validation), len(split.test)] == [3, 3, 3]
    with pytest.raises(DataError, match=r"2 source file.*cannot give separate train, validation and test.*add files"):
        split_dataset(_grouped(2), 0.2, seed=0)


def test_published_split_is_used_as_is() -> None:
    data = _grouped(5, split=["train", "train", "validation", "test", "test"])
    split = split_dataset(data, 0.2, seed=0)
    assert split.published
    assert split.train.tolist() == list(range(6))
    assert split.validation.tolist() == [6, 7, 8]
    assert split.test.tolist() == list(range(9, 15))


def test_published_split_without_test_draws_test_groups_from_train() -> None:
    data = _grouped(6, split=["train", "train", "train", "train", "train", "validation"])
    split = split_dataset(data, 0.2, seed=0, test_split=0.2)
    assert split.validation.tolist() == [15, 16, 17]
    assert len(split.test) == 3 and set(data.groups[split.test].tolist()) < {0, 1, 2, 3, 4}  # type: ignore[index]
    assert set(split.train.tolist()).isdisjoint(split.test.tolist())


def test_published_split_that_puts_one_song_on_two_sides_is_refused() -> None:
    base = make_synthetic("groove_predictor", 6, seed=0)
    groups = np.array([0, 0, 1, 1, 2, 2])
    labels = np.array(["train", "test", "train", "train", "validation", "test"])
    data = ArrayDataset("groove_predictor", base.inputs, base.targets, groups=groups, split=labels)
    with pytest.raises(DataError, match=r"puts one source .* on test and train .*2 such groups.*fix the data set"):
        split_dataset(data, 0.2, seed=0)


def test_augmented_rows_of_held_out_groups_are_never_used() -> None:
    base = make_synthetic("groove_predictor", 40, seed=0)
    groups = np.repeat(np.arange(20), 2)
    flags = np.tile([False, True], 20)
    data = ArrayDataset("groove_predictor", base.inputs, base.targets, groups=groups, augmented=flags)
    split = split_dataset(data, 0.25, seed=1)
    assert not flags[split.validation].any() and not flags[split.test].any()
    assert flags[split.train].sum() == len(split.train) // 2  # only the training groups' copies
