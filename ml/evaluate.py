"""Evaluation: test loss, one interpretable metric per model, inference latency, size and sample counts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.checkpoint import load_checkpoint, model_from_checkpoint
from ml.dataset import ArrayDataset
from ml.errors import DataError
from ml.io import write_json_atomic
from ml.models import MODEL_KEYS, LayerStack
from ml.normalize import FeatureNormalizer
from ml.train.device import set_threads
from ml.train.trainer import evaluate_arrays

LATENCY_BATCH = 64


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


def evaluate_model(
    model: LayerStack,
    normalizer: FeatureNormalizer | None,
    dataset: ArrayDataset,
    *,
    latency_runs: int = 200,
) -> dict[str, Any]:
    """Metrics of `model` on every sample of `dataset` plus latency and size figures."""
    model = model.eval().cpu()
    inputs = normalizer.transform(dataset.inputs) if normalizer is not None else dataset.inputs
    scores = evaluate_arrays(model, torch.from_numpy(inputs), torch.from_numpy(dataset.targets))
    params = model.parameter_count()
    return {
        "model_key": model.key,
        "test_loss": scores.pop("loss"),
        "metrics": scores,
        "samples": len(dataset),
        "data_source": dataset.source,
        "parameters": params,
        "float32_bytes": params * 4,
        "latency_single": measure_latency(model, 1, latency_runs),
        f"latency_batch_{LATENCY_BATCH}": measure_latency(model, LATENCY_BATCH, max(latency_runs // 4, 10)),
    }


def load_trained_model(models_dir: Path, model_key: str) -> tuple[LayerStack, FeatureNormalizer | None, str] | None:
    """The best checkpoint of `model_key` in a folder, else its RTNeural JSON (normalization folded in), else None."""
    checkpoint = models_dir / f"{model_key}.best.pt"
    if checkpoint.exists():
        model, normalizer = model_from_checkpoint(load_checkpoint(checkpoint, expected_model=model_key))
        return model, normalizer, checkpoint.name
    exported = models_dir / f"{model_key}.json"
    if exported.exists():
        from ml.export import model_from_rtneural

        return model_from_rtneural(exported, model_key), None, exported.name
    return None


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
        model, normalizer, source = found
        results[key] = {
            **evaluate_model(model, normalizer, datasets[key], latency_runs=latency_runs),
            "loaded_from": source,
        }
    if not results:
        raise DataError(f"no trained model (<model>.best.pt or <model>.json) with evaluation data in {models_dir}")
    write_json_atomic(Path(output), results)
    return results
