"""`mltrain train` and `mltrain evaluate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ml.config import DEVICES, TrainConfig, load_training_config
from ml.errors import ConfigError
from ml.models import MODEL_KEYS

# CLI flag -> TrainConfig field; flags left unset fall back to the config file, then to TrainConfig's defaults.
HYPERPARAMETER_FLAGS: dict[str, tuple[type, str]] = {
    "epochs": (int, "number of epochs (default 50)"),
    "batch_size": (int, "batch size (default 64)"),
    "lr": (float, "learning rate (default: the model's from --config, else 1e-3)"),
    "weight_decay": (
        float,
        "AdamW decoupled weight decay, weights only (default: the model's from --config, else 0.01)",
    ),
    "lr_schedule": (str, "cosine (default), plateau or constant, each after a linear warm-up"),
    "warmup_epochs": (float, "linear warm-up length in epochs; 0 = none (default 1)"),
    "min_lr_ratio": (float, "cosine: final learning rate as a share of --lr (default 0.1)"),
    "plateau_patience": (int, "plateau: epochs without improvement before the rate halves (default 3)"),
    "grad_clip": (float, "clip the gradients' global L2 norm to this; 0 = off (default 1.0)"),
    "val_split": (float, "validation share of source files when the data set publishes none (default 0.2)"),
    "test_split": (float, "held-out test share of source files when the data set publishes none (default 0.2)"),
    "early_stopping_patience": (int, "epochs without improvement before stopping; 0 = never (default 10)"),
    "min_delta": (float, "smallest validation-loss improvement that counts (default 1e-3)"),
    "checkpoint_every": (int, "write <model>.last.pt every N epochs; 0 = only at the end (default 10)"),
    "seed": (int, "random seed (default 42)"),
    "threads": (int, "torch threads (default 1)"),
    "synthetic_samples": (int, "samples per model with --synthetic (default 4096)"),
    "lookahead_seconds": (float, "dynamics_engine: let inputs see notes up to this long after the onset (default 0)"),
}


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", action="store_true", help="use the built-in learnable synthetic data")
    source.add_argument("--datasets-dir", type=Path, help="a data set folder (or a folder of data set folders)")
    parser.add_argument("--format", help="data set format (detected when omitted); see `mltrain datasets formats`")
    parser.add_argument("--cache-dir", type=Path, help="feature cache folder (default: <datasets-dir>/.mltrain-cache)")
    parser.add_argument("--labels-file", type=Path, help="emotion labels for unlabelled sets (Lakh, Groove MIDI)")
    parser.add_argument("--device", choices=DEVICES, default=None, help="auto (default), cpu, cuda or mps")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train` and `evaluate`."""
    train = subparsers.add_parser("train", help="train one model or all, export and verify RTNeural JSON")
    train.add_argument("--model", required=True, choices=[*MODEL_KEYS, "all"])
    _add_data_options(train)
    train.add_argument("--output", type=Path, required=True, help="training folder to write")
    train.add_argument("--config", type=Path, help="training_config.json (per-model architecture, lr, weight decay)")
    train.add_argument("--resume", action="store_true", help="continue from <model>.last.pt in --output")
    train.add_argument("--normalize", choices=["standard", "minmax", "none"], default=None)
    for name, (kind, text) in HYPERPARAMETER_FLAGS.items():
        train.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=text)
    train.set_defaults(handler=run_train)

    evaluate = subparsers.add_parser("evaluate", help="evaluate trained models (checkpoints or RTNeural JSON)")
    evaluate.add_argument("--models-dir", type=Path, required=True)
    _add_data_options(evaluate)
    evaluate.add_argument("--output", type=Path, required=True, help="evaluation.json to write")
    evaluate.add_argument("--latency-runs", type=int, default=200)
    evaluate.set_defaults(handler=run_evaluate)


def build_config(args: argparse.Namespace) -> TrainConfig:
    """Config file values, overridden by the flags that were given."""
    values: dict[str, Any] = load_training_config(args.config) if getattr(args, "config", None) else {}
    for name in (*HYPERPARAMETER_FLAGS, "device", "normalize"):
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    return TrainConfig.from_dict(values)


def _source(args: argparse.Namespace) -> Any:
    from ml.pipeline import DataSource

    cache = args.cache_dir
    if cache is None and args.datasets_dir is not None:
        cache = Path(args.datasets_dir) / ".mltrain-cache"
    return DataSource(
        synthetic=args.synthetic,
        datasets_dir=args.datasets_dir,
        format=args.format,
        cache_dir=cache,
        labels_file=args.labels_file,
    )


def format_headline(figures: dict[str, Any]) -> str:
    """One line: test loss beside each baseline, skill and verdict."""
    baselines = ", ".join(f"{name} {loss:.4g}" for name, loss in figures["baseline_losses"].items())
    return (
        f"test loss {figures['test_loss']:.4g} on {figures['test_samples']} held-out rows (baselines: {baselines}); "
        f"skill {figures['skill']:+.3f} vs {figures['best_baseline']}: {figures['verdict']}"
    )


def run_train(args: argparse.Namespace) -> int:
    """Handler of `mltrain train`."""
    config = build_config(args)
    if args.output.exists() and not args.output.is_dir():
        raise ConfigError(f"--output {args.output} exists and is not a folder")
    from ml.cli.progress import ConsoleProgress
    from ml.pipeline import run_training

    summary = run_training(
        args.model, _source(args), config, args.output, resume=args.resume, callbacks=ConsoleProgress()
    )
    for key, entry in summary.models.items():
        if entry.status == "skipped":
            print(f"{key}: skipped ({entry.reason})")
        else:
            print(
                f"{key}: {entry.stop_reason} after {entry.epochs_run} epochs, best val loss "
                f"{entry.best_val_loss:.4g} (epoch {entry.best_epoch}), export parity {entry.export_max_abs_error}"
            )
            if entry.evaluation:
                print(f"  {format_headline(entry.evaluation)}")
    print(f"wrote {args.output}")
    return 1 if summary.cancelled else 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Handler of `mltrain evaluate`."""
    from ml.pipeline import run_evaluation

    values: dict[str, Any] = {"device": args.device} if args.device else {}
    results = run_evaluation(
        args.models_dir,
        _source(args),
        args.output,
        config=TrainConfig.from_dict(values),
        latency_runs=args.latency_runs,
    )
    from ml.scoring import headline

    for key, result in results.items():
        latency = result["latency_single"]
        print(f"{key}: {format_headline(headline(result))}; single-sample p99 {latency['p99_ms']:.3f} ms")
    json.dump({"written": str(args.output)}, sys.stdout)
    print()
    return 0
