"""`run_sweep`: ask a batch of trials, train them in stacks, tell the results; export the best trial as a run.

Output folder:
    sweep.json        every trial's params, status, objective, epochs and stop reason; the best trial
    study.journal     Optuna's journal (the sampler's history): a rerun on the same folder resumes the sweep
    trials/NNNN/      each trial's ordinary checkpoints (<model>.last.pt, <model>.best.pt)
    best/             the best trial as a training run: checkpoints, RTNeural JSON, export report, evaluation.json
A killed sweep resumes where it was: interrupted trials continue from their own checkpoints with the same
parameters, then new trials are asked.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ml.config import TrainConfig
from ml.dataset import ArrayDataset
from ml.errors import ConfigError
from ml.io import write_json_atomic
from ml.models import get_spec
from ml.pipeline import DataSource, TrainingSummary, load_training_data, run_training
from ml.sweep.plan import TrialPlan, group_into_stacks
from ml.sweep.search import PRUNERS, ask_batch, check_strategy, journal_storage, open_study
from ml.sweep.space import apply_params, parse_space
from ml.sweep.stack_size import planned_stack_size
from ml.sweep.stacked import StackCallbacks, TrialOutcome, prepare_stack_data, train_stack

log = logging.getLogger(__name__)
OBJECTIVES = ("val_loss", "test_loss")
MAX_STACK = 32
DATA_FIELDS = ("synthetic_samples", "seed", "lookahead_seconds", "augmentation")  # what load_training_data reads


@dataclass
class TrialRecord:
    """One trial of a sweep as sweep.json lists it."""

    number: int
    params: dict[str, Any]
    status: str  # complete | pruned | failed | running
    objective: float | None = None
    epochs: int = 0
    best_epoch: int = 0
    best_val_loss: float | None = None
    stop_reason: str | None = None
    folder: str = ""


@dataclass
class SweepResult:
    """What `run_sweep` produced: every trial, the best one and its exported training run."""

    output_dir: str
    model_key: str
    strategy: str
    objective: str
    trials: list[TrialRecord]
    best: TrialRecord | None = None
    best_run: TrainingSummary | None = None
    cancelled: bool = False
    stacks: list[list[int]] = field(default_factory=list)  # trial numbers trained together, in order

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (sweep.json)."""
        data = asdict(self)
        data["best_run"] = self.best_run.to_dict() if self.best_run else None
        return data


class SweepCallbacks(StackCallbacks):
    """Stack hooks plus one per finished trial; the service subclasses it for progress and cancellation."""

    def on_trial_complete(self, record: TrialRecord) -> None:
        """A trial was told to the study (complete, pruned or failed)."""


class _Bridge(StackCallbacks):
    """Reports each epoch's validation loss to Optuna and asks its pruner; forwards the caller's hooks."""

    def __init__(self, trials: Mapping[int, Any], outer: SweepCallbacks, reported: dict[int, set[int]]) -> None:
        self.trials, self.outer, self.reported = trials, outer, reported

    def on_epoch_end(self, trial: int, row: dict[str, Any]) -> None:
        self.outer.on_epoch_end(trial, row)

    def should_prune(self, trial: int, epoch: int, val_loss: float) -> bool:
        handle = self.trials[trial]
        if epoch not in self.reported.setdefault(trial, set()) and math.isfinite(val_loss):
            handle.report(val_loss, epoch)  # a resumed trial re-runs epochs it may have reported already
            self.reported[trial].add(epoch)
        return bool(handle.should_prune()) or self.outer.should_prune(trial, epoch, val_loss)

    def on_checkpoint(self, trial: int, path: Path, epoch: int) -> None:
        self.outer.on_checkpoint(trial, path, epoch)

    def on_trial_end(self, trial: int, outcome: TrialOutcome) -> None:
        self.outer.on_trial_end(trial, outcome)

    def on_resume(self, trial: int, history: list[dict[str, Any]]) -> None:
        self.outer.on_resume(trial, history)

    def should_stop(self) -> bool:
        return self.outer.should_stop()


def trial_folder(output_dir: Path, number: int) -> Path:
    """Where trial `number` of a sweep keeps its checkpoints."""
    return Path(output_dir) / "trials" / f"{number:04d}"


def run_sweep(
    model_key: str,
    source: DataSource,
    base_config: TrainConfig,
    space: Mapping[str, Any],
    strategy: str,
    trials: int | None,
    output_dir: Path,
    *,
    stack: bool = True,
    seed: int = 0,
    callbacks: SweepCallbacks | None = None,
    pruner: str = "median",
    objective: str = "val_loss",
    stack_size: int | None = None,
    export_best: bool = True,
) -> SweepResult:
    """Search `space` with `strategy` for `trials` trials of one model; resumable on the same output_dir."""
    get_spec(model_key)
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if pruner not in PRUNERS:
        raise ConfigError(f"unknown pruner {pruner!r}; choose one of {', '.join(PRUNERS)}")
    params = parse_space(model_key, space, base_config)
    total = check_strategy(strategy, params, trials)
    batch = 1 if not stack else (stack_size or _default_batch(strategy, total))
    if batch < 1:
        raise ConfigError(f"stack_size must be at least 1, got {batch}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    settings = {"model": model_key, "space": dict(space), "strategy": strategy, "seed": seed, "objective": objective}
    settings["base_config"] = base_config.to_dict()
    _check_settings(output_dir, settings)
    callbacks = callbacks or SweepCallbacks()
    study = open_study(output_dir / "study.journal", strategy, params, seed, pruner)
    if not study.user_attrs.get("settings"):
        study.set_user_attr("settings", json.loads(json.dumps(settings, default=str)))
    run_id = study.user_attrs.get("run_id") or uuid.uuid4().hex
    study.set_user_attr("run_id", run_id)
    result = SweepResult(str(output_dir), model_key, strategy, objective, trials=[])
    datasets: dict[str, ArrayDataset] = {}
    reported: dict[int, set[int]] = {}

    while True:
        import optuna

        frozen = study.get_trials(deepcopy=False)
        running = [t for t in frozen if t.state == optuna.trial.TrialState.RUNNING]
        done = [t for t in frozen if t.state.is_finished()]
        for t in running:
            reported[t.number] = set(t.intermediate_values)
        handles = [optuna.trial.Trial(study, t._trial_id) for t in running[:batch]]
        room = min(batch - len(handles), total - len(done) - len(running))
        if room > 0:
            handles += ask_batch(study, params, room)
        if not handles:
            break
        if _train_batch(model_key, source, base_config, handles, output_dir, study, callbacks, reported, datasets,
                        result, objective, run_id, max_stack=batch if stack_size or not stack else None):  # fmt: skip
            result.cancelled = True
            break
        _write_sweep_json(output_dir, study, result)
    _write_sweep_json(output_dir, study, result)
    if export_best and not result.cancelled and result.best is not None:
        result.best_run = export_best_trial(model_key, source, base_config, result.best, output_dir)
        _write_sweep_json(output_dir, study, result)
    return result


def _default_batch(strategy: str, total: int) -> int:
    # TPE learns between batches: a quarter of the trials per stack leaves it three rounds of feedback.
    if strategy == "tpe":
        return max(1, min(MAX_STACK, math.ceil(total / 4)))
    return min(MAX_STACK, total)


def _train_batch(
    model_key: str,
    source: DataSource,
    base_config: TrainConfig,
    handles: Sequence[Any],
    output_dir: Path,
    study: Any,
    callbacks: SweepCallbacks,
    reported: dict[int, set[int]],
    datasets: dict[str, ArrayDataset],
    result: SweepResult,
    objective: str,
    run_id: str,
    max_stack: int | None = None,
) -> bool:
    """Train one asked batch in stacks and tell the study; True when the caller cancelled. Stacks hold at most
    `max_stack` trials (--stack-size / --no-stack), else what ml.sweep.stack_size plans for the model."""
    by_number = {h.number: h for h in handles}
    plans = [
        TrialPlan(h.number, apply_params(model_key, base_config, h.params), trial_folder(output_dir, h.number))
        for h in handles
    ]
    bridge = _Bridge(by_number, callbacks, reported)
    from ml.train.device import resolve_device

    def train_one(members: list[TrialPlan], device: Any) -> bool:
        config = members[0].config
        data_key = json.dumps({f: config.to_dict()[f] for f in DATA_FIELDS}, sort_keys=True, default=str)
        if data_key not in datasets:
            datasets[data_key] = load_training_data(model_key, source, config)
        dataset = datasets[data_key]
        result.stacks.append([p.number for p in members])
        data = prepare_stack_data(model_key, dataset, members[0], device)
        outcomes = train_stack(model_key, dataset, members, callbacks=bridge, run_id=run_id, data=data)
        if any(o.stop_reason == "cancelled" for o in outcomes):
            return True
        for plan, outcome in zip(members, outcomes, strict=True):
            record = _tell(study, by_number[plan.number], plan, outcome, objective, data, model_key, output_dir)
            callbacks.on_trial_complete(record)
        return False

    for group in group_into_stacks(model_key, plans, max_size=len(plans)):
        device = resolve_device(group[0].config.device)
        size = max_stack or planned_stack_size(model_key, group[0].config, len(group))
        for begin in range(0, len(group), size):
            if train_one(group[begin : begin + size], device):
                return True
    return False


def _tell(
    study: Any, handle: Any, plan: TrialPlan, outcome: TrialOutcome, objective: str, data: Any, key: str, root: Path
) -> TrialRecord:
    import optuna

    value: float | None = outcome.best_val_loss if math.isfinite(outcome.best_val_loss) else None
    if value is not None and objective == "test_loss" and outcome.best_state is not None:
        value = _test_loss(key, plan.config, outcome.best_state, data)
    best = outcome.best_val_loss if math.isfinite(outcome.best_val_loss) else None
    # User attributes go on before tell: a finished trial is read-only.
    for name, item in (("stop_reason", outcome.stop_reason), ("epochs", outcome.epochs_run),
                       ("best_epoch", outcome.best_epoch), ("best_val_loss", best)):  # fmt: skip
        handle.set_user_attr(name, item)
    if outcome.stop_reason == "pruned":
        study.tell(handle, state=optuna.trial.TrialState.PRUNED)
        status = "pruned"
    elif value is None or not math.isfinite(value):
        study.tell(handle, state=optuna.trial.TrialState.FAIL)
        status = "failed"
    else:
        study.tell(handle, value)
        status = "complete"
    return TrialRecord(
        plan.number, dict(handle.params), status, value if status == "complete" else None, outcome.epochs_run,
        outcome.best_epoch, best, outcome.stop_reason, str(plan.output_dir.relative_to(root)),
    )  # fmt: skip


def _test_loss(key: str, config: TrainConfig, state: dict[str, Any], data: Any) -> float:
    """Loss of a trial's best weights on the held-out test split."""
    from ml.models import build_model
    from ml.train.trainer import evaluate_arrays

    model = build_model(key, config.architecture_for(key))
    model.load_state_dict(state)
    return float(evaluate_arrays(model, data.x_test, data.y_test)["loss"])


def _records(study: Any, output_dir: Path) -> list[TrialRecord]:
    import optuna

    states = {
        optuna.trial.TrialState.COMPLETE: "complete",
        optuna.trial.TrialState.PRUNED: "pruned",
        optuna.trial.TrialState.FAIL: "failed",
    }
    records = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        records.append(
            TrialRecord(
                number=t.number,
                params=dict(t.params),
                status=states.get(t.state, "running"),
                objective=t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
                epochs=int(attrs.get("epochs", 0)),
                best_epoch=int(attrs.get("best_epoch", 0)),
                best_val_loss=attrs.get("best_val_loss"),
                stop_reason=attrs.get("stop_reason"),
                folder=str(trial_folder(Path("."), t.number)),
            )
        )
    return records


def _write_sweep_json(output_dir: Path, study: Any, result: SweepResult) -> None:
    result.trials = _records(study, output_dir)
    complete = [r for r in result.trials if r.status == "complete" and r.objective is not None]
    result.best = min(complete, key=lambda r: (r.objective, r.number)) if complete else None
    write_json_atomic(output_dir / "sweep.json", result.to_dict())


def _check_settings(output_dir: Path, settings: dict[str, Any]) -> None:
    """Refuse to resume a sweep folder with other settings: its journal and checkpoints belong to those."""
    path = output_dir / "sweep.json"
    journal = output_dir / "study.journal"
    if not journal.exists():
        return
    import optuna

    try:
        summaries = optuna.get_all_study_summaries(journal_storage(journal))
        storage_settings = summaries[0].user_attrs.get("settings") if summaries else None
    except Exception:  # an unreadable journal is reported by Optuna itself when the study opens
        storage_settings = None
    wanted = json.loads(json.dumps(settings, default=str))
    if storage_settings is not None and storage_settings != wanted:
        changed = sorted(k for k in wanted if storage_settings.get(k) != wanted[k])
        raise ConfigError(
            f"{output_dir} holds a sweep with other settings ({', '.join(changed)} differ); "
            f"resume it with the same ones or use a new --output folder" + (f" (see {path})" if path.exists() else "")
        )


def export_best_trial(
    model_key: str, source: DataSource, base_config: TrainConfig, best: TrialRecord, output_dir: Path
) -> TrainingSummary:
    """Make `output_dir/best` an ordinary training run of the best trial: its checkpoints, then the pipeline's
    export, verification and evaluation (the pipeline resumes the finished checkpoint and trains no further)."""
    config = apply_params(model_key, base_config, best.params)
    best_dir = output_dir / "best"
    if best_dir.exists():
        shutil.rmtree(best_dir)
    best_dir.mkdir(parents=True)
    source_dir = output_dir / best.folder
    for name in (f"{model_key}.best.pt", f"{model_key}.last.pt"):
        if (source_dir / name).exists():
            shutil.copy2(source_dir / name, best_dir / name)
    summary = run_training(model_key, source, config, best_dir, resume=True)
    write_json_atomic(
        best_dir / "trial.json", {"number": best.number, "params": best.params, "config": config.to_dict()}
    )
    return summary


def train_asked(
    model_key: str,
    source: DataSource,
    base_config: TrainConfig,
    handles: Sequence[Any],
    output_dir: Path,
    study: Any,
    *,
    callbacks: SweepCallbacks,
    objective: str = "val_loss",
    run_id: str,
) -> bool:
    """Train trials already asked from `study` (one batch job of the service) in stacks and tell each, exactly as
    run_sweep trains a batch; running trials resume from their checkpoints. True when the callbacks cancelled."""
    frozen = {t.number: t for t in study.get_trials(deepcopy=False)}
    # A resumed trial re-runs epochs whose values Optuna already has: report only the new ones.
    reported = {h.number: set(frozen[h.number].intermediate_values) for h in handles}
    result = SweepResult(str(output_dir), model_key, "", objective, trials=[])
    return _train_batch(model_key, source, base_config, handles, output_dir, study, callbacks, reported, {}, result,
                        objective, run_id)  # fmt: skip
