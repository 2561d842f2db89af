"""Evaluation on the held-out test split: loss and metrics beside the baselines, skill, verdict, latency, size.

The split is the trainer's (same data, seed and fractions from the checkpoint's config), so the test rows
are ones the model never trained on nor was early-stopped on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.baselines import fit_baselines
from ml.checkpoint import load_checkpoint, model_from_checkpoint
from ml.config import TrainConfig
from ml.dataset import ArrayDataset
from ml.errors import DataError, MltrainError
from ml.io import write_json_atomic
from ml.models import MODEL_KEYS, LayerStack
from ml.normalize import FeatureNormalizer
from ml.scoring import column_report, score, skill_and_verdict
from ml.train.device import set_threads
from ml.train.split import Split, split_dataset

LATENCY_BATCH = 64
EVAL_BATCH = 4096


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms)
    return {
        "mean_ms": float(values.mean()),
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "p99_ms": float(np.percentile(values, 99)),
        "runs": len(samples_ms),
    }


@torch.no_grad()
def measure_latency(model: LayerStack, batch: int, runs: int, warmup: int = 20) -> dict[str, float]:
    """Wall time of one forward pass of `batch` samples on one thread, in milliseconds."""
    set_threads(1)
    x = torch.randn(batch, model.input_size)
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - start) * 1000.0)
    return _percentiles(times)


@torch.no_grad()
def predict(model: LayerStack, normalizer: FeatureNormalizer | None, inputs: np.ndarray) -> np.ndarray:
    """Final outputs of `model` on raw inputs, in large batches (float64 for scoring)."""
    model = model.eval().cpu()
    x = normalizer.transform(inputs) if normalizer is not None else np.asarray(inputs, dtype=np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return torch.cat([model(tensor[i : i + EVAL_BATCH]) for i in range(0, len(tensor), EVAL_BATCH)]).double().numpy()


def evaluate_model(
    model: LayerStack,
    normalizer: FeatureNormalizer | None,
    dataset: ArrayDataset,
    split: Split,
    *,
    latency_runs: int = 200,
) -> dict[str, Any]:
    """Test-split metrics of `model` beside its baselines (fitted on the training split), plus skill, verdict,
    uninformative columns, latency and size figures."""
    key = model.key
    train, test = dataset.subset(split.train), dataset.subset(split.test)
    original = train if train.augmented is None else train.subset(np.flatnonzero(~train.augmented))
    scores = score(key, predict(model, normalizer, test.inputs), test.targets)
    baselines = {
        b.name: {"description": b.description, **score(key, b.predict(test.inputs.astype(np.float64)), test.targets)}
        for b in fit_baselines(key, original.inputs, original.targets)
    }
    skill, verdict = skill_and_verdict(scores["loss"], {name: b["loss"] for name, b in baselines.items()})
    params = model.parameter_count()
    return {
        "model_key": key,
        "split": "test",
        "splits": split.sizes(),
        "samples": len(test),
        "data_source": dataset.source,
        "test_loss": scores["loss"],
        "metrics": scores["metrics"],
        "baselines": baselines,
        "skill": skill,
        "verdict": verdict,
        "columns": {"inputs": column_report(original.inputs), "targets": column_report(original.targets)},
        "parameters": params,
        "float32_bytes": params * 4,
        "latency_single": measure_latency(model, 1, latency_runs),
        f"latency_batch_{LATENCY_BATCH}": measure_latency(model, LATENCY_BATCH, max(latency_runs // 4, 10)),
    }


@dataclass
class TrainedModel:
    """A trained model found in a folder, with the training configuration that made it (for its split)."""

    model: LayerStack
    normalizer: FeatureNormalizer | None
    loaded_from: str
    config: TrainConfig


def load_trained_model(models_dir: Path, model_key: str) -> TrainedModel | None:
    """The best checkpoint of `model_key` in a folder, else its RTNeural JSON (normalization folded in), else None."""
    checkpoint = models_dir / f"{model_key}.best.pt"
    if checkpoint.exists():
        state = load_checkpoint(checkpoint, expected_model=model_key)
        model, normalizer = model_from_checkpoint(state)
        return TrainedModel(model, normalizer, checkpoint.name, _config_of(state))
    exported = models_dir / f"{model_key}.json"
    if exported.exists():
        from ml.export import model_from_rtneural

        return TrainedModel(model_from_rtneural(exported, model_key), None, exported.name, TrainConfig())
    return None


def _config_of(state: dict[str, Any]) -> TrainConfig:
    """The checkpoint's training configuration (defaults for keys this version does not know)."""
    known = {f.name for f in fields(TrainConfig)}
    stored = state.get("config") or {}
    try:
        return TrainConfig.from_dict({k: v for k, v in stored.items() if k in known})
    except MltrainError:
        return TrainConfig()


def evaluate_models_dir(
    models_dir: Path,
    datasets: dict[str, ArrayDataset],
    output: Path,
    *,
    latency_runs: int = 200,
) -> dict[str, Any]:
    """Evaluate every model found in `models_dir` on its data set; write evaluation.json atomically."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise DataError(f"models folder not found: {models_dir}")
    results: dict[str, Any] = {}
    for key in MODEL_KEYS:
        found = load_trained_model(models_dir, key)
        if found is None or key not in datasets:
            continue
        dataset, config = datasets[key], found.config
        split = split_dataset(dataset, config.val_split, config.seed, config.test_split)
        results[key] = {
            **evaluate_model(found.model, found.normalizer, dataset, split, latency_runs=latency_runs),
            "loaded_from": found.loaded_from,
        }
    if not results:
        raise DataError(f"no trained model (<model>.best.pt or <model>.json) with evaluation data in {models_dir}")
    write_json_atomic(Path(output), results)
    return results
