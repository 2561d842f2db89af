"""Search spaces, strategies and the sweep runner (synthetic data, tiny runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from ml.config import TrainConfig
from ml.errors import ConfigError
from ml.pipeline import DataSource
from ml.sweep.runner import SweepCallbacks, run_sweep
from ml.sweep.search import check_strategy
from ml.sweep.space import apply_params, parse_space

torch.set_num_threads(1)
KEY = "groove_predictor"
BASE = TrainConfig(epochs=3, batch_size=32, synthetic_samples=256, seed=2, checkpoint_every=1)


def _sweep(tmp_path: Path, space: dict[str, Any], strategy: str, trials: int | None, **kw: Any) -> Any:
    kw.setdefault("export_best", False)
    return run_sweep(KEY, DataSource(synthetic=True), BASE, space, strategy, trials, tmp_path, seed=3, **kw)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "the search space is empty"),
        ({"lr": {"low": 1e-2, "high": 1e-3}}, "empty or inverted"),
        ({"lr": {"low": 1e-3, "high": 1e-3}}, "empty or inverted"),
        ({"momentum": {"grid": [0.9]}}, "unknown search parameter 'momentum'"),
        ({"weight_decay": {"low": 0.0, "high": 0.1, "log": True}}, "a log range needs low > 0"),
        ({"lr": {"grid": []}}, "non-empty list"),
        ({"lr": {"grid": [1e-3], "low": 1e-4}}, "exactly one of"),
        ({"lr": {"low": 1e-4, "high": 50.0}}, "lr must be a number in (0.0, 10.0]"),
        ({"fc1": {"low": 8, "high": 64.5}}, "takes integers"),
        ({"batch_size": {"choices": [16, 0]}}, "batch_size must be an integer"),
    ],
)
def test_bad_spaces_are_refused_with_a_clear_message(space: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_space(KEY, space, BASE)


def test_bad_strategy_settings_are_refused() -> None:
    grid = parse_space(KEY, {"lr": {"grid": [1e-3, 1e-2]}, "fc1": {"choices": [16, 32]}}, BASE)
    with pytest.raises(ConfigError, match="5 trials asked but the grid has only 4 points"):
        check_strategy("grid", grid, 5)
    assert check_strategy("grid", grid, None) == 4
    ranged = parse_space(KEY, {"lr": {"low": 1e-4, "high": 1e-2, "log": True}}, BASE)
    with pytest.raises(ConfigError, match="grid strategy needs a grid or choices for every parameter; lr"):
        check_strategy("grid", ranged, 2)
    with pytest.raises(ConfigError, match="unknown search strategy 'annealing'"):
        check_strategy("annealing", ranged, 2)
    with pytest.raises(ConfigError, match="needs a number of trials"):
        check_strategy("random", ranged, None)


def test_architecture_names_go_to_the_models_architecture() -> None:
    config = apply_params(KEY, BASE, {"fc1": 24, "lr": 2e-3})
    assert config.architecture_for(KEY) == {"fc1": 24, "fc2": 64}
    assert config.lr == 2e-3


def test_tpe_finds_a_better_learning_rate_than_the_worst_grid_point(tmp_path: Path) -> None:
    grid = _sweep(tmp_path / "grid", {"lr": {"grid": [1e-5, 1e-4, 1e-3, 1e-2]}}, "grid", None, pruner="none")
    assert sorted(r.params["lr"] for r in grid.trials) == [1e-5, 1e-4, 1e-3, 1e-2]  # every point once
    assert grid.stacks == [[0, 1, 2, 3]]  # one stack: only the rate differs
    worst = max(r.objective for r in grid.trials)
    tpe = _sweep(tmp_path / "tpe", {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}, "tpe", 8, pruner="none")
    assert len(tpe.stacks) == 4  # two trials per round: TPE sees three rounds of results
    assert tpe.best.objective < worst
    saved = json.loads((tmp_path / "tpe" / "sweep.json").read_text())
    assert len(saved["trials"]) == 8
    assert saved["best"]["number"] == tpe.best.number
    assert {"params", "status", "objective", "epochs", "stop_reason"} <= set(saved["trials"][0])


def test_shape_changing_parameters_split_the_batch_into_stacks(tmp_path: Path) -> None:
    result = _sweep(tmp_path, {"fc1": {"grid": [16, 32]}, "lr": {"grid": [1e-3, 3e-3]}}, "grid", None)
    assert sorted(len(s) for s in result.stacks) == [2, 2]
    for stack in result.stacks:
        assert len({result.trials[n].params["fc1"] for n in stack}) == 1
    assert {r.status for r in result.trials} == {"complete"}


class _StopAfter(SweepCallbacks):
    def __init__(self, trials: int) -> None:
        self.trials, self.told = trials, 0

    def on_trial_complete(self, record: Any) -> None:
        self.told += 1

    def should_stop(self) -> bool:
        return self.told >= self.trials


def test_an_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    space = {"lr": {"low": 1e-4, "high": 1e-2, "log": True}}
    first = _sweep(tmp_path / "run", space, "random", 4, stack_size=2, callbacks=_StopAfter(2), pruner="none")
    assert first.cancelled
    assert [r.status for r in first.trials] == ["complete", "complete", "running", "running"]
    resumed = _sweep(tmp_path / "run", space, "random", 4, stack_size=2, pruner="none")
    whole = _sweep(tmp_path / "whole", space, "random", 4, stack_size=2, pruner="none")
    assert [r.params for r in resumed.trials] == [r.params for r in whole.trials]
    for mine, theirs in zip(resumed.trials, whole.trials, strict=True):
        assert mine.objective == pytest.approx(theirs.objective, rel=1e-5)
    with pytest.raises(ConfigError, match="holds a sweep with other settings"):
        _sweep(tmp_path / "run", {"lr": {"grid": [1e-3]}}, "grid", 1)


def test_pruned_trials_are_recorded(tmp_path: Path) -> None:
    # A hopeless rate among good ones: the median pruner stops it once four trials have finished.
    space = {"lr": {"grid": [3e-3, 4e-3, 5e-3, 6e-3, 1e-6]}}
    base = TrainConfig(epochs=6, batch_size=32, synthetic_samples=256, seed=2)
    result = run_sweep(KEY, DataSource(synthetic=True), base, space, "grid", None, tmp_path, seed=0,
                       stack_size=4, export_best=False)  # fmt: skip
    statuses = {r.params["lr"]: r.status for r in result.trials}
    assert statuses[1e-6] == "pruned"
    assert result.best is not None and result.best.params["lr"] != 1e-6
