"""Which trials can share a stack: the same data, batches, initial weights and shapes; the rest may differ.

A trial's batches depend on the seed and batch size, its rows on the split and augmentation, its initial weights
on the seed and architecture: every field outside PER_TRIAL_FIELDS must match for two trials to train together.
The per-trial fields are applied per trial row (learning rate and decay, schedule, clipping, stopping, length).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ml.config import TrainConfig

PER_TRIAL_FIELDS = frozenset(
    {
        "epochs",
        "lr",
        "weight_decay",
        "learning_rates",
        "weight_decays",
        "lr_schedule",
        "warmup_epochs",
        "min_lr_ratio",
        "plateau_patience",
        "grad_clip",
        "early_stopping_patience",
        "min_delta",
        "checkpoint_every",
    }
)


@dataclass(frozen=True)
class TrialPlan:
    """One trial: its number in the sweep, its full configuration and the folder its checkpoints go to."""

    number: int
    config: TrainConfig
    output_dir: Path


def stack_key(model_key: str, config: TrainConfig) -> str:
    """A string equal for two configurations exactly when their trials can be trained in one stack."""
    shared = {k: v for k, v in config.to_dict().items() if k not in PER_TRIAL_FIELDS and k != "architecture"}
    shared["architecture"] = config.architecture_for(model_key)
    return json.dumps(shared, sort_keys=True, default=str)


def group_into_stacks(model_key: str, plans: Sequence[TrialPlan], max_size: int = 32) -> list[list[TrialPlan]]:
    """Split trials into stacks of matching configuration (first-seen order), each at most `max_size` trials."""
    groups: dict[str, list[TrialPlan]] = {}
    for plan in plans:
        groups.setdefault(stack_key(model_key, plan.config), []).append(plan)
    stacks: list[list[TrialPlan]] = []
    for members in groups.values():
        stacks.extend(members[i : i + max(1, max_size)] for i in range(0, len(members), max(1, max_size)))
    return stacks
