"""One trial's bookkeeping in a stack, and its checkpoints in the single-model format of `ml.train.trainer`.

A trial's `<model>.last.pt` and `<model>.best.pt` are ordinary checkpoints (model_state, optimizer_state in
torch.optim.AdamW's layout, early_stopping, schedule, history, config): the solo trainer resumes them, and
`ml.export` / `ml.evaluate` read them like any training run's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.errors import CheckpointError
from ml.models import LayerStack
from ml.sweep.adamw import StackedAdamW, adam_state_for_trial, steps_from_state
from ml.sweep.plan import TrialPlan
from ml.sweep.stacked_model import StackedNetwork, from_stored, to_stored
from ml.train.early_stopping import EarlyStopping
from ml.train.optim import LrSchedule, parameter_groups
from ml.train.trainer import checkpoint_paths


@dataclass
class TrialState:
    """Progress of one trial: schedule, stopper, history, completed epochs and its best weights."""

    plan: TrialPlan
    schedule: LrSchedule
    stopper: EarlyStopping
    lr: float
    weight_decay: float
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    stop_reason: str | None = None  # set when the trial is over: completed | early_stopping | pruned | ...
    last_lr: float = 0.0

    @property
    def finished(self) -> bool:
        """True once the trial has a final stop reason."""
        return self.stop_reason is not None


class TrialCheckpoints:
    """Writes and reads the per-trial checkpoints of one stack (model key, architecture, normalizer, data)."""

    def __init__(
        self,
        model_key: str,
        architecture: dict[str, int],
        template: LayerStack,
        normalizer_state: dict[str, Any],
        data: dict[str, Any],
        run_id: str | None,
    ) -> None:
        self.model_key = model_key
        self.architecture = architecture
        self.normalizer_state = normalizer_state
        self.data = data
        self.run_id = run_id
        # The solo optimizer's parameter order (decayed group, then the rest): its state dict is keyed by it.
        names = {id(p): n for n, p in template.named_parameters()}
        self.optimizer_order = [names[id(p)] for g in parameter_groups(template, 0.0) for p in g["params"]]
        self.group_sizes = [len(g["params"]) for g in parameter_groups(template, 0.0)]

    def paths(self, trial: TrialState) -> tuple[Path, Path]:
        """(best, last) checkpoint paths of a trial."""
        return checkpoint_paths(trial.plan.output_dir, self.model_key)

    def optimizer_state(
        self, trial: TrialState, row: int, net: StackedNetwork, optimizer: StackedAdamW
    ) -> dict[str, Any]:
        """Trial `row`'s moments as a torch.optim.AdamW state dict (only parameters that were ever stepped)."""
        slots = {s.name: s for s in net.slots}
        state: dict[int, dict[str, torch.Tensor]] = {}
        steps = int(optimizer.steps[row])
        for index, name in enumerate(self.optimizer_order):
            slot = slots[name]
            if slot.group == "frozen" or steps == 0:
                continue  # the solo optimizer keeps no state for a parameter that never had a gradient
            m = net._view(optimizer.exp_avg[slot.group], slot)[row]
            v = net._view(optimizer.exp_avg_sq[slot.group], slot)[row]
            state[index] = adam_state_for_trial(from_stored(slot, m), from_stored(slot, v), steps)
        groups, start = [], 0
        for position, size in enumerate(self.group_sizes):
            groups.append(
                {
                    "lr": trial.last_lr or trial.lr,
                    "betas": (0.9, 0.999),
                    "eps": 1e-8,
                    "weight_decay": trial.weight_decay if position == 0 else 0.0,
                    "amsgrad": False,
                    "maximize": False,
                    "foreach": None,
                    "capturable": False,
                    "differentiable": False,
                    "fused": True,
                    "decoupled_weight_decay": True,
                    "params": list(range(start, start + size)),
                }
            )
            start += size
        return {"state": state, "param_groups": groups}

    def snapshot(
        self, trial: TrialState, row: int, net: StackedNetwork, optimizer: StackedAdamW | None, stop: str | None
    ) -> dict[str, Any]:
        """Trial `row`'s checkpoint dict, key for key what `ml.train.trainer.train_model` writes."""
        stopper = trial.stopper
        return {
            "model_key": self.model_key,
            "architecture": self.architecture,
            "model_state": net.trial_state(row),
            "normalizer": self.normalizer_state,
            "optimizer_state": None if optimizer is None else self.optimizer_state(trial, row, net, optimizer),
            "early_stopping": stopper.state_dict(),
            "schedule": trial.schedule.state_dict(),
            "epoch": trial.epoch,
            "best_epoch": stopper.best_epoch,
            "best_val_loss": stopper.best if math.isfinite(stopper.best) else None,
            "history": trial.history,
            "config": trial.plan.config.to_dict(),
            "run_id": self.run_id,
            "stop_reason": stop,
            "data": self.data,
        }

    def write_last(self, trial: TrialState, row: int, net: StackedNetwork, optimizer: StackedAdamW) -> Path:
        """Save the trial's resumable checkpoint."""
        _, last = self.paths(trial)
        save_checkpoint(last, self.snapshot(trial, row, net, optimizer, trial.stop_reason))
        return last

    def write_best(self, trial: TrialState, row: int, net: StackedNetwork) -> None:
        """Save the trial's best weights (no optimizer state, as the solo trainer's best.pt)."""
        best, _ = self.paths(trial)
        save_checkpoint(best, self.snapshot(trial, row, net, None, None))

    def restore(self, trial: TrialState, row: int, net: StackedNetwork, optimizer: StackedAdamW) -> bool:
        """Load the trial's last checkpoint into stack row `row` if there is one; True when it was loaded."""
        best_path, last_path = self.paths(trial)
        if not last_path.exists():
            return False
        state = load_checkpoint(last_path, expected_model=self.model_key)
        if state.get("architecture") != self.architecture:
            raise CheckpointError(
                f"{last_path} was trained with architecture {state.get('architecture')}, not {self.architecture}; "
                "resume with the same configuration or use a new output folder"
            )
        net.load_trial(row, state["model_state"])
        slots = {s.name: s for s in net.slots}
        entries = (state.get("optimizer_state") or {}).get("state", {})
        for index, name in enumerate(self.optimizer_order):
            entry = entries.get(index)
            if entry is None:
                continue
            slot = slots[name]
            with torch.no_grad():
                net._view(optimizer.exp_avg[slot.group], slot)[row].copy_(to_stored(slot, entry["exp_avg"]))
                net._view(optimizer.exp_avg_sq[slot.group], slot)[row].copy_(to_stored(slot, entry["exp_avg_sq"]))
            optimizer.steps[row] = steps_from_state(entry)
        trial.stopper = EarlyStopping.from_state_dict(state["early_stopping"])
        trial.history = list(state["history"])
        trial.epoch = int(state["epoch"])
        if state.get("schedule"):
            trial.schedule.restore_progress(state["schedule"])
        final = state.get("stop_reason")
        trial.stop_reason = final if final not in (None, "cancelled") else None
        if trial.stop_reason is None and (trial.stopper.should_stop or trial.epoch >= trial.plan.config.epochs):
            trial.stop_reason = trial.stopper.stop_reason or "completed"
        trial.best_state = (
            load_checkpoint(best_path, expected_model=self.model_key)["model_state"] if best_path.exists() else None
        )
        return True
