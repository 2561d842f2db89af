"""Train a stack of trials together: K configurations of one architecture on the same batches, in one process.

Each trial follows exactly what `ml.train.trainer.train_model` would do with its configuration alone: the same
split, normalizer, augmentation and initial weights (same seed), the same permutation per epoch, its own
learning-rate schedule, weight decay, clipping, early stopping and checkpoints. What is shared is the work: one
batched matmul per layer for all trials and one optimizer pass over [K, P] buffers.

A trial that stops (early stopping, pruning, a non-finite loss, its last epoch) is masked: its weights and
optimizer state stop changing and its loss no longer counts. When at least `compact_below` of the stack has
stopped, the stack is compacted to the running trials so they stop paying for the rest.
Per-trial checkpoints make a killed process resumable: calling `train_stack` again with the same plans continues
every trial from its own last checkpoint (trials saved at different epochs wait, masked, until the stack
reaches them), and the result equals an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.augment import augment_training_rows
from ml.dataset import ArrayDataset
from ml.errors import ConfigError
from ml.models import build_model
from ml.normalize import FeatureNormalizer
from ml.sweep.adamw import StackedAdamW
from ml.sweep.losses import stacked_loss
from ml.sweep.plan import TrialPlan, stack_key
from ml.sweep.stacked_model import StackedNetwork
from ml.sweep.trial_state import TrialCheckpoints, TrialState
from ml.train.device import resolve_device, set_threads
from ml.train.early_stopping import EarlyStopping
from ml.train.losses import model_metrics
from ml.train.optim import LrSchedule
from ml.train.split import Split, split_dataset
from ml.train.trainer import EVAL_BATCH

log = logging.getLogger(__name__)


class StackCallbacks:
    """Hooks of a stack run; every method is a no-op here. Subclass what you need."""

    def on_epoch_end(self, trial: int, row: dict[str, Any]) -> None:
        """Trial number `trial` finished an epoch; `row` is its metrics-history row."""

    def should_prune(self, trial: int, epoch: int, val_loss: float) -> bool:
        """Asked after each epoch of a running trial; True stops it with stop_reason "pruned"."""
        return False

    def on_trial_end(self, trial: int, outcome: TrialOutcome) -> None:
        """Trial number `trial` stopped for good (its last checkpoint is written)."""

    def on_checkpoint(self, trial: int, path: Path, epoch: int) -> None:
        """A trial's last checkpoint was written atomically."""

    def on_resume(self, trial: int, history: list[dict[str, Any]]) -> None:
        """A trial resumes from a checkpoint whose metrics history is `history` (one row per done epoch)."""

    def should_stop(self) -> bool:
        """Polled between batches; True ends the run, every trial keeping its last checkpoint (resumable)."""
        return False


@dataclass
class TrialOutcome:
    """What one trial of a stack produced; `best_state` holds its best weights (solo state-dict layout)."""

    number: int
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    stop_reason: str  # completed | early_stopping | pruned | non_finite_loss | cancelled
    history: list[dict[str, Any]]
    best_state: dict[str, torch.Tensor] | None
    output_dir: Path


@dataclass
class StackData:
    """The rows every trial of a stack trains and validates on (normalized tensors) and their split."""

    split: Split
    normalizer: FeatureNormalizer
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    info: dict[str, Any]


def prepare_stack_data(model_key: str, dataset: ArrayDataset, plan: TrialPlan, device: torch.device) -> StackData:
    """Split, normalize and augment exactly as the solo trainer does for this configuration."""
    config = plan.config
    split = split_dataset(dataset, config.val_split, config.seed, config.test_split)
    normalizer = FeatureNormalizer.fit(dataset.inputs[split.train], config.normalize)  # type: ignore[arg-type]
    train_set = augment_training_rows(dataset.subset(split.train), config.augmentation, config.seed)

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)

    return StackData(
        split=split,
        normalizer=normalizer,
        x_train=tensor(normalizer.transform(train_set.inputs)),
        y_train=tensor(train_set.targets),
        x_val=tensor(normalizer.transform(dataset.inputs[split.validation])),
        y_val=tensor(dataset.targets[split.validation]),
        x_test=tensor(normalizer.transform(dataset.inputs[split.test])),
        y_test=tensor(dataset.targets[split.test]),
        info={"source": dataset.source, "samples": len(dataset), "train": len(train_set)},
    )


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    # The solo trainer's generator (ml.train.trainer._epoch_generator): the same seed gives the same batches.
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed * 1_000_003 + epoch)
    return generator


@torch.no_grad()
def evaluate_stack(
    net: StackedNetwork, inputs: torch.Tensor, targets: torch.Tensor, with_metrics: bool = True
) -> list[dict[str, float]]:
    """Per-trial mean loss (and the model's metrics) over a held-out set, in the solo evaluator's chunks."""
    activation = net.specs[-1].activation
    losses = torch.zeros(net.size, dtype=torch.float64)
    outputs = []
    for start in range(0, len(inputs), EVAL_BATCH):
        x, y = inputs[start : start + EVAL_BATCH], targets[start : start + EVAL_BATCH]
        z = net.preactivation(x)
        losses += stacked_loss(net.key, activation, z, y).double().cpu() * len(x)
        if with_metrics:
            outputs.append(net.forward_from(z))
    results: list[dict[str, float]] = []
    total = torch.cat(outputs, dim=1) if outputs else None
    for row in range(net.size):
        result = {"loss": float(losses[row]) / max(len(inputs), 1)}
        if total is not None:
            result.update(model_metrics(net.key, total[row], targets))
        results.append(result)
    return results


def _check_stack(model_key: str, plans: Sequence[TrialPlan]) -> None:
    if not plans:
        raise ConfigError("a stack needs at least one trial")
    keys = {stack_key(model_key, p.config) for p in plans}
    if len(keys) > 1:
        raise ConfigError(
            "these trials differ in data, batching, seed or architecture and cannot share a stack; "
            "split them with ml.sweep.plan.group_into_stacks"
        )
    numbers = [p.number for p in plans]
    if len(set(numbers)) != len(numbers):
        raise ConfigError(f"trial numbers repeat in one stack: {numbers}")


def train_stack(
    model_key: str,
    dataset: ArrayDataset,
    plans: Sequence[TrialPlan],
    *,
    resume: bool = True,
    callbacks: StackCallbacks | None = None,
    run_id: str | None = None,
    compact_below: float = 0.5,
    data: StackData | None = None,
) -> list[TrialOutcome]:
    """Train the trials of one stack together; each ends as it would alone. Resumes from per-trial checkpoints."""
    _check_stack(model_key, plans)
    callbacks = callbacks or StackCallbacks()
    base = plans[0].config
    set_threads(base.threads)
    device = resolve_device(base.device)
    data = data or prepare_stack_data(model_key, dataset, plans[0], device)
    architecture = base.architecture_for(model_key)
    torch.manual_seed(base.seed)  # the solo trainer seeds right before building: the same initial weights
    template = build_model(model_key, architecture)
    initial = {k: v.detach().clone() for k, v in template.state_dict().items()}
    net = StackedNetwork(template, [initial] * len(plans), device)
    optimizer = StackedAdamW(_trained(net), decayed=["decay"])
    n_train, batch = len(data.x_train), base.batch_size
    steps_per_epoch = math.ceil(n_train / batch)
    checkpoints = TrialCheckpoints(model_key, architecture, template, data.normalizer.state_dict(), data.info, run_id)

    trials = []
    for row, plan in enumerate(plans):
        config = plan.config
        plan.output_dir.mkdir(parents=True, exist_ok=True)
        trial = TrialState(
            plan=plan,
            schedule=LrSchedule(
                kind=config.lr_schedule,
                base_lr=config.lr_for(model_key),
                total_steps=config.epochs * steps_per_epoch,
                warmup_steps=round(config.warmup_epochs * steps_per_epoch),
                min_lr_ratio=config.min_lr_ratio,
                plateau_patience=config.plateau_patience,
            ),
            stopper=EarlyStopping(config.early_stopping_patience, config.min_delta),
            lr=config.lr_for(model_key),
            weight_decay=config.weight_decay_for(model_key),
        )
        if resume and checkpoints.restore(trial, row, net, optimizer):
            log.info("%s: trial %d resumes after epoch %d", model_key, plan.number, trial.epoch)
            # A kill between the checkpoint's write and its metrics flush would leave a gap: the checkpoint's own
            # history is the truth for the epochs it holds (as ml.train.trainer does for one model).
            callbacks.on_resume(plan.number, list(trial.history))
        trials.append(trial)
    rows = list(range(len(trials)))  # rows[i]: the stack row of trials[i] (changes when the stack is compacted)
    started_finished = {t.plan.number for t in trials if t.finished}
    best_states: dict[int, dict[str, torch.Tensor]] = {
        t.plan.number: t.best_state if t.best_state is not None else initial for t in trials
    }
    cancelled = False
    live = [i for i, t in enumerate(trials) if not t.finished]
    epoch = min((trials[i].epoch for i in live), default=0)

    while live and not cancelled:
        started = time.perf_counter()
        in_stack = list(live)
        active = np.zeros(net.size, dtype=bool)
        for i in in_stack:
            active[rows[i]] = trials[i].epoch == epoch  # a trial saved at a later epoch waits for the stack
        lr_table = np.zeros((steps_per_epoch, net.size))
        wd, clip = np.zeros(net.size), np.zeros(net.size)
        for i in in_stack:
            if not active[rows[i]]:
                continue
            trial, row = trials[i], rows[i]
            lr_table[:, row] = [trial.schedule.lr_at(trial.schedule.step + s) for s in range(steps_per_epoch)]
            wd[row], clip[row] = trial.weight_decay, trial.plan.config.grad_clip
        mask = torch.from_numpy(active.astype(np.float32)).to(device)
        order = torch.randperm(n_train, generator=_epoch_generator(base.seed, epoch)).to(device)
        totals = torch.zeros(net.size, dtype=torch.float64, device=device)
        activation = net.specs[-1].activation
        for step, begin in enumerate(range(0, n_train, batch)):
            index = order[begin : begin + batch]
            losses = stacked_loss(model_key, activation, net.preactivation(data.x_train[index]), data.y_train[index])
            net.zero_grad()
            # Each trial's loss depends only on its own row, so one backward of the masked sum gives every
            # trial exactly the gradient it would get alone.
            (losses * mask).sum().backward()
            optimizer.step(_trained(net), lr_table[step], wd, clip, active)
            totals += losses.detach().double() * len(index)
            if callbacks.should_stop():
                cancelled = True
                break
        if cancelled:
            break  # the partial epoch is discarded: every trial's last checkpoint is its resume point
        validation = evaluate_stack(net, data.x_val, data.y_val)
        elapsed = time.perf_counter() - started
        newly_finished = []
        for i in in_stack:
            trial, row = trials[i], rows[i]
            if not active[row]:
                continue
            trial.schedule.step += steps_per_epoch
            trial.last_lr = float(lr_table[-1, row])
            trial.epoch = epoch + 1
            train_loss = float(totals[row]) / n_train
            result = dict(validation[row])
            history_row: dict[str, Any] = {
                "epoch": trial.epoch,
                "train_loss": train_loss,
                "val_loss": result.pop("loss"),
                **result,
            }
            history_row["lr"] = trial.last_lr
            trial.schedule.end_epoch(history_row["val_loss"])
            history_row["seconds"] = elapsed
            trial.history.append(history_row)
            loss_for_stopping = history_row["val_loss"] if math.isfinite(train_loss) else math.nan
            if trial.stopper.update(trial.epoch, loss_for_stopping):
                best_states[trial.plan.number] = net.trial_state(row)
                checkpoints.write_best(trial, row, net)
            callbacks.on_epoch_end(trial.plan.number, history_row)
            running = not trial.stopper.should_stop and trial.epoch < trial.plan.config.epochs
            if running and callbacks.should_prune(trial.plan.number, trial.epoch, history_row["val_loss"]):
                trial.stopper.stop_reason = "pruned"
            if trial.stopper.should_stop or trial.epoch >= trial.plan.config.epochs:
                trial.stop_reason = trial.stopper.stop_reason or "completed"
                newly_finished.append(i)
            every = trial.plan.config.checkpoint_every
            if trial.finished or (every and trial.epoch % every == 0):
                path = checkpoints.write_last(trial, row, net, optimizer)
                callbacks.on_checkpoint(trial.plan.number, path, trial.epoch)
        for i in newly_finished:
            callbacks.on_trial_end(trials[i].plan.number, _outcome(trials[i], best_states))
        live = [i for i in live if not trials[i].finished]
        epoch += 1
        stopped_rows = net.size - len(live)
        if live and stopped_rows and stopped_rows >= compact_below * net.size:
            keep = [rows[i] for i in live]
            net.keep(keep)
            optimizer.keep(keep)
            for position, i in enumerate(live):
                rows[i] = position
    outcomes = []
    for trial in trials:
        if cancelled and not trial.finished:
            trial.stop_reason = "cancelled"
        outcomes.append(_outcome(trial, best_states))
    if started_finished:
        log.info("%s: %d trial(s) had already finished", model_key, len(started_finished))
    return outcomes


def _trained(net: StackedNetwork) -> dict[str, torch.Tensor]:
    return {group: net.buffers[group] for group in ("decay", "plain")}


def _outcome(trial: TrialState, best_states: dict[int, dict[str, torch.Tensor]]) -> TrialOutcome:
    return TrialOutcome(
        number=trial.plan.number,
        epochs_run=trial.epoch,
        best_epoch=trial.stopper.best_epoch,
        best_val_loss=trial.stopper.best,
        stop_reason=trial.stop_reason or "cancelled",
        history=trial.history,
        best_state=best_states.get(trial.plan.number),
        output_dir=trial.plan.output_dir,
    )
