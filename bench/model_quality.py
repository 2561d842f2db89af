"""Model quality: each model's held-out test loss beside its baselines, skill and verdict, as a Markdown table.

    .venv/bin/python -m bench.model_quality [--data MODEL=FOLDER ...] [--epochs 60] [--output DIR]

Each `--data` trains one model on a real-format data set folder (format detected) through the same
`ml.pipeline.run_training` that `mltrain train` runs, then reads the test split's figures from
evaluation.json. Models without `--data` train on the built-in synthetic data (marked as such). Without any
`--data` (as `make bench` runs it) every model trains on synthetic data: a smoke test of the table, not a
quality figure; the figures in BENCHMARKS.md come from real data sets, with the command that made them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from ml.config import TrainConfig
from ml.models import MODEL_KEYS
from ml.pipeline import DataSource, run_training

HEADLINE_METRICS = {
    "emotion_recognizer": ("valence_mae", "arousal_mae"),
    "melody_transformer": ("note_f1",),
    "harmony_predictor": ("top1_accuracy",),
    "dynamics_engine": ("velocity_mae",),
    "groove_predictor": ("mae",),
}


def _parse_data(values: list[str]) -> dict[str, Path]:
    folders: dict[str, Path] = {}
    for value in values:
        key, _, folder = value.partition("=")
        if key not in MODEL_KEYS or not folder:
            raise SystemExit(f"--data wants MODEL=FOLDER with MODEL one of {', '.join(MODEL_KEYS)}; got {value!r}")
        folders[key] = Path(folder)
    return folders


def _metrics(key: str, metrics: dict[str, float]) -> str:
    return ", ".join(f"{name} {metrics[name]:.3f}" for name in HEADLINE_METRICS[key])


def _row(key: str, evaluation: dict[str, Any], data: str) -> str:
    baselines = evaluation["baselines"]
    cells = [f"{name} {b['loss']:.4f} ({_metrics(key, b['metrics'])})" for name, b in baselines.items()]
    splits = evaluation["splits"]
    info = evaluation.get("data_info", {})
    sources = info.get("files_used", info.get("songs", info.get("progressions", "?")))
    model = f"{evaluation['test_loss']:.4f} ({_metrics(key, evaluation['metrics'])})"
    return (
        f"| {key} | {data} ({sources} sources; train/val/test rows {splits['train']}/{splits['validation']}/"
        f"{splits['test']}, {splits['source']}) | {model} | {'<br>'.join(cells)} | "
        f"{evaluation['skill']['value']:+.3f} | {evaluation['verdict']} |"
    )


def main() -> None:
    """Train each model, print one Markdown table row per model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", default=[], help="MODEL=FOLDER (repeatable)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--output", type=Path, help="keep the training folders here (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    folders = _parse_data(args.data)
    config = TrainConfig(epochs=args.epochs, seed=args.seed, early_stopping_patience=10)
    with tempfile.TemporaryDirectory() as tmp:
        base = args.output or Path(tmp)
        print("| model | data | test loss (metric) | baselines: test loss (metric) | skill | verdict |")
        print("|---|---|---|---|---|---|")
        for key in MODEL_KEYS:
            folder = folders.get(key)
            source = DataSource(datasets_dir=folder, cache_dir=folder / ".mltrain-cache") if folder else None
            started = time.perf_counter()
            out = base / key
            run_training(key, source or DataSource(synthetic=True), config, out)
            evaluation = json.loads((out / "evaluation.json").read_text())[key]
            label = f"`{folder.name}`" if folder else "synthetic"
            print(_row(key, evaluation, label) + f" <!-- {time.perf_counter() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
