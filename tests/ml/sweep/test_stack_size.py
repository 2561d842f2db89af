"""The stack-size planner: small dense models stack to the batch, the matmul-bound ones run one after another,
--stack-size overrides it, and a sweep of a matmul-bound model trains one trial per stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.config import TrainConfig
from ml.pipeline import DataSource
from ml.sweep.runner import run_sweep
from ml.sweep.stack_size import MAX_STACK, planned_stack_size

BASE = TrainConfig(batch_size=64)


@pytest.mark.parametrize(
    ("model", "size"),
    [("dynamics_engine", 32), ("groove_predictor", 32), ("harmony_predictor", 8), ("emotion_recognizer", 1),
     ("melody_transformer", 1)],
)  # fmt: skip
def test_the_plan_per_model_at_batch_64(model: str, size: int) -> None:
    assert planned_stack_size(model, BASE, MAX_STACK) == size
    assert planned_stack_size(model, BASE, 3) == min(size, 3)  # never more than the trials there are


def test_a_smaller_batch_leaves_more_fixed_cost_to_share() -> None:
    assert planned_stack_size("melody_transformer", TrainConfig(batch_size=8), MAX_STACK) > 1


def _sweep(tmp_path: Path, model: str, **kw: object) -> list[list[int]]:
    config = TrainConfig(epochs=1, synthetic_samples=64, batch_size=64, early_stopping_patience=0, threads=1)
    space = {"lr": {"grid": [0.001, 0.003, 0.01]}}
    result = run_sweep(model, DataSource(synthetic=True), config, space, "grid", None, tmp_path, pruner="none",
                       export_best=False, **kw)  # type: ignore[arg-type]  # fmt: skip
    return result.stacks


def test_a_sweep_follows_the_plan_unless_stack_size_is_given(tmp_path: Path) -> None:
    assert _sweep(tmp_path / "planned", "melody_transformer") == [[0], [1], [2]]
    assert _sweep(tmp_path / "forced", "melody_transformer", stack_size=3) == [[0, 1, 2]]
    assert _sweep(tmp_path / "small", "groove_predictor") == [[0, 1, 2]]
