"""The one entry point the CLI and the service worker share: data -> train -> export + verify -> evaluate."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.config import TrainConfig
from ml.dataset import ArrayDataset
from ml.errors import DataError, MltrainError
from ml.evaluate import evaluate_model, evaluate_models_dir
from ml.export import export_rtneural, verify_rtneural, write_export
from ml.io import write_json_atomic
from ml.models import MODEL_KEYS, resolve_model_keys
from ml.scoring import headline
from ml.synthetic import make_synthetic
from ml.train.callbacks import TrainCallbacks
from ml.train.plot import plot_loss_curves
from ml.train.split import Split
from ml.train.trainer import train_model

log = logging.getLogger(__name__)


@dataclass
class DataSource:
    """Where training data comes from: synthetic, or a folder of one data set (or of several, one per subfolder)."""

    synthetic: bool = False
    datasets_dir: Path | None = None
    format: str | None = None
    cache_dir: Path | None = None
    labels_file: Path | None = None

    def describe(self) -> str:
        """Short human description for logs and metadata."""
        return "synthetic" if self.synthetic else f"{self.datasets_dir} ({self.format or 'auto'})"


@dataclass
class ModelSummary:
    """The outcome of one model in a training run."""

    model_key: str
    status: str  # trained | skipped | cancelled
    reason: str | None = None
    epochs_run: int = 0
    best_epoch: int = 0
    best_val_loss: float | None = None
    stop_reason: str | None = None
    export_max_abs_error: float | None = None
    evaluation: dict[str, Any] | None = None  # test loss beside the baselines, skill and verdict
    files: list[str] = field(default_factory=list)


@dataclass
class TrainingSummary:
    """The outcome of `run_training`: per-model summaries and every file written."""

    run_id: str
    output_dir: str
    models: dict[str, ModelSummary]
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def load_training_data(model_key: str, source: DataSource, config: TrainConfig) -> ArrayDataset:
    """The ArrayDataset for one model from a DataSource."""
    if source.synthetic:
        return make_synthetic(model_key, config.synthetic_samples, config.seed)
    if source.datasets_dir is None:
        raise DataError("give a data set folder (--datasets-dir) or --synthetic")
    root = Path(source.datasets_dir)
    if not root.is_dir():
        raise DataError(f"data set folder not found: {root}")
    from ml.data import LoadOptions, load_dataset

    options = LoadOptions(
        cache_dir=source.cache_dir,
        augmentation=config.augmentation,
        seed=config.seed,
        labels_file=source.labels_file,
        lookahead_seconds=config.lookahead_seconds,
    )
    return load_dataset(root, model_key, source.format, options)


def run_training(
    model: str,
    source: DataSource,
    config: TrainConfig,
    output_dir: Path,
    *,
    resume: bool = False,
    callbacks: TrainCallbacks | None = None,
    run_id: str | None = None,
) -> TrainingSummary:
    """Train one model or all, export and verify each, evaluate, and write the training folder."""
    keys = resolve_model_keys(model)
    output_dir = Path(output_dir)  # created by the trainer, so a run refused up front leaves nothing behind
    run_id = run_id or uuid.uuid4().hex
    summary = TrainingSummary(run_id=run_id, output_dir=str(output_dir), models={})
    histories: dict[str, list[dict[str, Any]]] = {}
    export_reports: dict[str, Any] = {}
    evaluations: dict[str, Any] = {}
    for key in keys:
        try:
            dataset = load_training_data(key, source, config)
        except DataError as exc:
            if len(keys) == 1:
                raise
            log.warning("%s: skipped: %s", key, exc)
            summary.models[key] = ModelSummary(key, "skipped", reason=str(exc))
            continue
        log.info("%s: training on %d samples from %s", key, len(dataset), dataset.source)
        result = train_model(key, dataset, config, output_dir, resume=resume, callbacks=callbacks, run_id=run_id)
        histories[key] = result.history
        entry = ModelSummary(
            key,
            "cancelled" if result.stop_reason == "cancelled" else "trained",
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            best_val_loss=result.best_val_loss if result.best_epoch else None,
            stop_reason=result.stop_reason,
            files=[p.name for p in result.files],
        )
        summary.models[key] = entry
        if result.stop_reason == "cancelled":
            summary.cancelled = True
            break
        doc = export_rtneural(
            result.model,
            result.normalizer,
            run_id=run_id,
            # A loader's export_metadata (e.g. dynamics' lookahead) tells the plugin how its inputs were made.
            extra_metadata={
                **dataset.info.get("export_metadata", {}),
                "best_epoch": result.best_epoch,
                "data_source": dataset.source,
            },
        )
        report = verify_rtneural(doc, result.model, result.normalizer)
        rows, rows_source = golden_rows(dataset, result.split)
        paths = write_export(
            doc, result.model, result.normalizer, output_dir / f"{key}.json", sample_rows=rows, rows_source=rows_source
        )
        report.files = paths.names()
        entry.export_max_abs_error = report.max_abs_error
        entry.files.extend(paths.names())
        export_reports[key] = report.to_dict()
        evaluations[key] = {
            **evaluate_model(result.model, result.normalizer, dataset, result.split),
            "best_epoch": result.best_epoch,
            "stop_reason": result.stop_reason,
            "data_info": _data_info(dataset),
        }
        entry.evaluation = headline(evaluations[key])
    if not histories:
        reasons = "; ".join(f"{k}: {m.reason}" for k, m in summary.models.items())
        raise DataError(f"no model could be trained: {reasons}")
    _write_run_files(output_dir, histories, export_reports, evaluations, summary)
    return summary


def golden_rows(dataset: ArrayDataset, split: Split) -> tuple[np.ndarray, str]:
    """Raw input rows for the golden vectors: the test split, else the training rows that are not augmented."""
    if len(split.test):
        return dataset.inputs[split.test], "the test split"
    train = split.train
    if dataset.augmented is not None:
        train = train[~dataset.augmented[train]]
    return dataset.inputs[train], "the training split"


def _data_info(dataset: ArrayDataset) -> dict[str, Any]:
    """What the loader reported about the rows (files used, skips, beat grids, keys), minus bulky lists."""
    info = {k: v for k, v in dataset.info.items() if k != "skipped"}
    info["skipped_files"] = len(dataset.info.get("skipped", []))
    return info


def _merge_json(path: Path, update: dict[str, Any]) -> dict[str, Any]:
    """Merge per-model entries into an existing run file (training one model must not erase the others)."""
    import json

    merged: dict[str, Any] = {}
    if path.exists():
        try:
            existing = json.loads(path.read_text())
            merged = existing if isinstance(existing, dict) else {}
        except (OSError, ValueError):
            merged = {}
    merged.update(update)
    return merged


def _write_run_files(
    output_dir: Path,
    histories: dict[str, list[dict[str, Any]]],
    export_reports: dict[str, Any],
    evaluations: dict[str, Any],
    summary: TrainingSummary,
) -> None:
    metrics_path = output_dir / "metrics.json"
    metrics = _merge_json(metrics_path, {k: {"run_id": summary.run_id, "history": h} for k, h in histories.items()})
    if histories:
        write_json_atomic(metrics_path, metrics)
        plot_loss_curves(
            {k: v["history"] for k, v in metrics.items() if isinstance(v, dict)}, output_dir / "loss_curve.png"
        )
    if export_reports:
        write_json_atomic(
            output_dir / "export_report.json", _merge_json(output_dir / "export_report.json", export_reports)
        )
    if evaluations:
        write_json_atomic(output_dir / "evaluation.json", _merge_json(output_dir / "evaluation.json", evaluations))


def run_evaluation(
    models_dir: Path,
    source: DataSource,
    output: Path,
    *,
    config: TrainConfig | None = None,
    latency_runs: int = 200,
) -> dict[str, Any]:
    """Evaluate every trained model in `models_dir` on the data of `source`; write `output`."""
    config = config or TrainConfig()
    datasets: dict[str, ArrayDataset] = {}
    errors: list[str] = []
    for key in MODEL_KEYS:
        try:
            datasets[key] = load_training_data(key, source, config)
        except MltrainError as exc:
            errors.append(f"{key}: {exc}")
    if not datasets:
        raise DataError("no evaluation data: " + "; ".join(errors))
    return evaluate_models_dir(Path(models_dir), datasets, Path(output), latency_runs=latency_runs)
