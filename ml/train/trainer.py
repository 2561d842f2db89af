"""The trainer: knows nothing about a specific model beyond its registry entry.

Data lives in memory as tensors on the device and batches are index slices of a permutation drawn from a
generator seeded by (seed, epoch): no DataLoader, no per-sample Python, and resuming at epoch k draws exactly
the batches an uninterrupted run would have drawn.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.augment import augment_training_rows
from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.config import TrainConfig
from ml.dataset import ArrayDataset
from ml.errors import CheckpointError
from ml.models import LayerStack, build_model
from ml.normalize import FeatureNormalizer
from ml.train.callbacks import TrainCallbacks
from ml.train.device import resolve_device, set_threads
from ml.train.early_stopping import EarlyStopping
from ml.train.losses import compute_loss, model_metrics
from ml.train.optim import LrSchedule, clip_gradients, make_optimizer
from ml.train.split import Split, split_dataset

log = logging.getLogger(__name__)
EVAL_BATCH = 4096


@dataclass
class TrainResult:
    """What one model's training produced; `model` holds the best weights (eval mode, CPU)."""

    model_key: str
    model: LayerStack
    normalizer: FeatureNormalizer
    split: Split
    history: list[dict[str, Any]]
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    stop_reason: str
    best_path: Path
    last_path: Path
    files: list[Path] = field(default_factory=list)


def checkpoint_paths(output_dir: Path, model_key: str) -> tuple[Path, Path]:
    """(best, last) checkpoint paths of one model in a training folder."""
    return output_dir / f"{model_key}.best.pt", output_dir / f"{model_key}.last.pt"


@torch.no_grad()
def evaluate_arrays(model: LayerStack, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Mean loss and the model's metrics over a held-out set, in large batches."""
    model.eval()
    losses, outputs = [], []
    for start in range(0, len(inputs), EVAL_BATCH):
        x, y = inputs[start : start + EVAL_BATCH], targets[start : start + EVAL_BATCH]
        losses.append(float(compute_loss(model, x, y)) * len(x))
        outputs.append(model(x))
    result = {"loss": sum(losses) / max(len(inputs), 1)}
    result.update(model_metrics(model.key, torch.cat(outputs), targets))
    return result


def _epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed * 1_000_003 + epoch)
    return generator


def train_model(
    model_key: str,
    dataset: ArrayDataset,
    config: TrainConfig,
    output_dir: Path,
    *,
    resume: bool = False,
    callbacks: TrainCallbacks | None = None,
    run_id: str | None = None,
) -> TrainResult:
    """Train one model on `dataset`, writing best/last checkpoints into output_dir; returns the best model."""
    callbacks = callbacks or TrainCallbacks()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    best_path, last_path = checkpoint_paths(output_dir, model_key)
    set_threads(config.threads)
    device = resolve_device(config.device)

    split = split_dataset(dataset, config.val_split, config.seed, config.test_split)
    architecture = config.architecture_for(model_key)
    normalizer = FeatureNormalizer.fit(dataset.inputs[split.train], config.normalize)  # type: ignore[arg-type]
    torch.manual_seed(config.seed)
    model = build_model(model_key, architecture).to(device)
    base_lr = config.lr_for(model_key)
    optimizer = make_optimizer(model, base_lr, config.weight_decay_for(model_key), device)
    stopper = EarlyStopping(config.early_stopping_patience, config.min_delta)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_schedule: dict[str, Any] | None = None

    if resume and last_path.exists():
        state = load_checkpoint(last_path, expected_model=model_key)
        if state.get("architecture") != architecture:
            raise CheckpointError(
                f"{last_path} was trained with architecture {state.get('architecture')}, not {architecture}; "
                "resume with the same configuration or use a new output folder"
            )
        model.load_state_dict(state["model_state"])
        optimizer.load_state_dict(state["optimizer_state"])
        stopper = EarlyStopping.from_state_dict(state["early_stopping"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
        normalizer = FeatureNormalizer.from_state_dict(state["normalizer"])
        saved_schedule = state.get("schedule")
        best_state = (
            load_checkpoint(best_path, expected_model=model_key)["model_state"] if best_path.exists() else best_state
        )
        run_id = run_id or state.get("run_id")
        log.info("%s: resuming after epoch %d from %s", model_key, start_epoch, last_path)
        callbacks.on_resume(model_key, history)

    # Augmented copies are made from training rows only, so validation and test never see them.
    train_set = augment_training_rows(dataset.subset(split.train), config.augmentation, config.seed)
    x_train = torch.from_numpy(normalizer.transform(train_set.inputs)).to(device)
    y_train = torch.from_numpy(train_set.targets).to(device)
    x_val = torch.from_numpy(normalizer.transform(dataset.inputs[split.validation])).to(device)
    y_val = torch.from_numpy(dataset.targets[split.validation]).to(device)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    # The plan follows this run's config (a resume may extend the epochs); the progress comes from the checkpoint.
    schedule = LrSchedule(
        kind=config.lr_schedule,
        base_lr=base_lr,
        total_steps=config.epochs * steps_per_epoch,
        warmup_steps=round(config.warmup_epochs * steps_per_epoch),
        min_lr_ratio=config.min_lr_ratio,
        plateau_patience=config.plateau_patience,
    )
    if saved_schedule:
        schedule.restore_progress(saved_schedule)

    def snapshot(epoch: int, stop_reason: str | None) -> dict[str, Any]:
        return {
            "model_key": model_key,
            "architecture": architecture,
            "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "normalizer": normalizer.state_dict(),
            "optimizer_state": optimizer.state_dict(),
            "early_stopping": stopper.state_dict(),
            "schedule": schedule.state_dict(),
            "epoch": epoch,
            "best_epoch": stopper.best_epoch,
            "best_val_loss": stopper.best if math.isfinite(stopper.best) else None,
            "history": history,
            "config": config.to_dict(),
            "run_id": run_id,
            "stop_reason": stop_reason,
            "data": {"source": dataset.source, "samples": len(dataset), "train": len(train_set)},
        }

    saved_epoch = start_epoch if resume and last_path.exists() else -1  # the epoch last.pt holds

    def write_last(epoch: int, stop_reason: str | None, state: dict[str, Any] | None = None) -> None:
        # Metrics first: a checkpoint must never get ahead of the metrics its epochs reported.
        callbacks.before_checkpoint(model_key, epoch)
        save_checkpoint(last_path, state or snapshot(epoch, stop_reason))
        nonlocal saved_epoch
        saved_epoch = epoch
        callbacks.on_checkpoint(model_key, last_path, epoch)

    callbacks.on_train_start(model_key, config.epochs, start_epoch)
    stop_reason = "completed"
    epoch = start_epoch
    finished_before = start_epoch >= config.epochs or stopper.should_stop
    if finished_before:
        stop_reason = stopper.stop_reason or "completed"
    n_train, batch = len(x_train), config.batch_size
    while not finished_before and epoch < config.epochs:
        started = time.perf_counter()
        # A stop inside this epoch saves the state it started from, unless that is already on disk; the copy is
        # only taken when checkpoints are sparser than every epoch.
        epoch_start = copy.deepcopy(snapshot(epoch, "cancelled")) if saved_epoch != epoch else None
        model.train()
        order = torch.randperm(n_train, generator=_epoch_generator(config.seed, epoch, device)).to(device)
        total, cancelled = 0.0, False
        lr = schedule.lr_at(schedule.step)
        for begin in range(0, n_train, batch):
            index = order[begin : begin + batch]
            loss = compute_loss(model, x_train[index], y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip_gradients(model, config.grad_clip)
            lr = schedule.apply(optimizer)
            optimizer.step()
            total += float(loss.detach()) * len(index)
            if callbacks.should_stop():
                cancelled = True
                break
        if cancelled:
            # Keep the last complete epoch's checkpoint: the partial epoch is discarded, not saved.
            stop_reason = "cancelled"
            if epoch_start is not None:
                write_last(epoch, "cancelled", epoch_start)
            break
        epoch += 1
        train_loss = total / n_train
        val = evaluate_arrays(model, x_val, y_val)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss, "val_loss": val.pop("loss"), **val}
        row["lr"] = lr  # the rate of the epoch's last step
        schedule.end_epoch(row["val_loss"])
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        loss_for_stopping = row["val_loss"] if math.isfinite(train_loss) else math.nan
        if stopper.update(epoch, loss_for_stopping):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            save_checkpoint(best_path, {**snapshot(epoch, None), "optimizer_state": None})
        callbacks.on_epoch_end(model_key, row)
        done = stopper.should_stop or epoch >= config.epochs
        if done:
            stop_reason = stopper.stop_reason or "completed"
            write_last(epoch, stop_reason)
            break
        if config.checkpoint_every and epoch % config.checkpoint_every == 0:
            write_last(epoch, None)
        if callbacks.should_stop():
            stop_reason = "cancelled"
            write_last(epoch, "cancelled")
            break

    # Restore the best weights: that is the model we export and evaluate.
    model.load_state_dict(best_state)
    model.eval().cpu()
    return TrainResult(
        model_key=model_key,
        model=model,
        normalizer=normalizer,
        split=split,
        history=history,
        epochs_run=epoch,
        best_epoch=stopper.best_epoch,
        best_val_loss=stopper.best,
        stop_reason=stop_reason,
        best_path=best_path,
        last_path=last_path,
        files=[p for p in (best_path, last_path) if p.exists()],
    )


def seed_everything(seed: int) -> None:
    """Seed torch and numpy's legacy global generator (for code outside the trainer that uses them)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
