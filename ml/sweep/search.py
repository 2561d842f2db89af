"""Search strategies over a parsed space with Optuna's ask/tell interface: grid, random and TPE, with pruners.

A whole stack of trials is asked before any is told, so samplers see a batch at a time; TPE runs with
`constant_liar` so the trials of one batch are not all drawn near the same point.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.errors import ConfigError
from ml.sweep.space import Param, grid_size

if TYPE_CHECKING:
    import optuna

STRATEGIES = ("grid", "random", "tpe")
PRUNERS = ("none", "median", "halving")


def check_strategy(strategy: str, params: list[Param], trials: int | None) -> int:
    """The number of trials to run; refuses an unknown strategy or a grid asked for more trials than points."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown search strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    points = grid_size(params)
    if strategy == "grid":
        if points is None:
            ranges = ", ".join(p.name for p in params if p.kind == "range")
            raise ConfigError(f"the grid strategy needs a grid or choices for every parameter; {ranges} is a range")
        if trials is not None and trials > points:
            raise ConfigError(f"{trials} trials asked but the grid has only {points} points; ask for at most {points}")
        return trials if trials is not None else points
    if trials is None or trials < 1:
        raise ConfigError(f"the {strategy} strategy needs a number of trials of at least 1, got {trials!r}")
    return trials


def distributions(params: list[Param]) -> dict[str, Any]:
    """Optuna distributions of the parameters (grids and choices are categorical)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    result: dict[str, Any] = {}
    for p in params:
        if p.kind != "range":
            result[p.name] = CategoricalDistribution(list(p.values))
        elif p.integer:
            result[p.name] = IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            result[p.name] = FloatDistribution(p.low, p.high, log=p.log)
    return result


def make_sampler(strategy: str, params: list[Param], seed: int) -> optuna.samplers.BaseSampler:
    """GridSampler, RandomSampler or TPESampler, seeded."""
    import optuna

    if strategy == "grid":

        class _GridSampler(optuna.samplers.GridSampler):
            """GridSampler without its study.stop() on the last point: that only works inside optimize(), and
            the runner counts the trials against the grid itself."""

            def after_trial(self, *args: Any, **kwargs: Any) -> None:
                return None

        return _GridSampler({p.name: list(p.values) for p in params}, seed=seed)
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=4)


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """Optuna's pruner for `name`: none, median (MedianPruner) or halving (SuccessiveHalvingPruner)."""
    import optuna

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    raise ConfigError(f"unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}")


def open_study(
    path: Path | None,
    strategy: str,
    params: list[Param],
    seed: int,
    pruner: str,
    *,
    storage: optuna.storages.BaseStorage | None = None,
) -> optuna.study.Study:
    """A minimizing study, kept in `storage` (the service's database journal), else in a journal file at `path`
    (resumable), else in memory."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage is None and path is not None:
        storage = journal_storage(path)
    return optuna.create_study(
        study_name="sweep",
        storage=storage,
        sampler=make_sampler(strategy, params, seed),
        pruner=make_pruner(pruner),
        direction="minimize",
        load_if_exists=True,
    )


def journal_storage(path: Path) -> Any:
    """Optuna's journal-file storage at `path` (one file, appended to; safe to reopen after a kill)."""
    import optuna.storages

    journal = getattr(optuna.storages, "journal", None)
    backend = getattr(journal, "JournalFileBackend", None) or optuna.storages.JournalFileStorage  # 3.x name
    return optuna.storages.JournalStorage(backend(str(path)))


def ask_batch(study: optuna.study.Study, params: list[Param], count: int) -> list[optuna.trial.Trial]:
    """Ask `count` new trials at once (a stack's worth)."""
    space = distributions(params)
    return [study.ask(space) for _ in range(count)]
