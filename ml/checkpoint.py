"""Self-describing checkpoints: everything needed to rebuild the model, export it, or resume training exactly.

A checkpoint is a dict saved with torch.save and loaded with `weights_only=True` (no pickled code):
    format: "mltrain-checkpoint", version: 1, model_key, architecture, model_state, normalizer,
    epoch (completed epochs), best_val_loss, best_epoch, config (TrainConfig.to_dict()), run_id,
    optimizer_state, early_stopping (state dict), rng (torch/numpy/python RNG states), history (per-epoch rows),
    stop_reason.
Training-state keys are absent from an export-only checkpoint (e.g. one imported from RTNeural JSON).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ml.errors import CheckpointError
from ml.io import write_atomic
from ml.models import LayerStack, build_model, get_spec
from ml.normalize import FeatureNormalizer

CHECKPOINT_FORMAT = "mltrain-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically; a crash mid-write leaves the previous file intact."""
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    write_atomic(Path(path), lambda handle: torch.save(payload, handle))


def load_checkpoint(path: Path, expected_model: str | None = None) -> dict[str, Any]:
    """Load and check a checkpoint (weights_only); refuse a missing, corrupt or other-model file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {first_line})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an mltrain checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {state.get('version')}, expected {CHECKPOINT_VERSION}")
    key = state.get("model_key")
    if not isinstance(key, str):
        raise CheckpointError(f"{path} does not say which model it holds")
    get_spec(key)
    if expected_model is not None and key != expected_model:
        raise CheckpointError(f"{path} holds a {key} checkpoint, not {expected_model}")
    return state


def model_from_checkpoint(state: dict[str, Any]) -> tuple[LayerStack, FeatureNormalizer]:
    """Rebuild the model (eval mode, CPU) and its input normalizer from a loaded checkpoint."""
    key = state["model_key"]
    model = build_model(key, state.get("architecture"))
    try:
        model.load_state_dict(state["model_state"])
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"checkpoint weights do not fit {key}: {exc}") from None
    model.eval()
    normalizer_state = state.get("normalizer")
    normalizer = (
        FeatureNormalizer.from_state_dict(normalizer_state)
        if normalizer_state
        else FeatureNormalizer.identity(get_spec(key).input_size)
    )
    return model, normalizer
