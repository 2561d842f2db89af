"""`mltrain sweep`: search hyperparameters of one model, training matching trials together in stacks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ml.cli.train import HYPERPARAMETER_FLAGS, _add_data_options, _source, build_config
from ml.errors import ConfigError
from ml.models import MODEL_KEYS

STRATEGIES = ("grid", "random", "tpe")  # ml.sweep.search.STRATEGIES, repeated so --help needs no torch
PRUNERS = ("none", "median", "halving")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sweep`."""
    sweep = subparsers.add_parser("sweep", help="hyperparameter sweep of one model (grid, random or TPE search)")
    sweep.add_argument("--model", required=True, choices=MODEL_KEYS)
    _add_data_options(sweep)
    sweep.add_argument("--space", type=Path, required=True, help="search space JSON (see docs/sweeps.md)")
    sweep.add_argument("--strategy", choices=STRATEGIES, default="tpe", help="search strategy (default tpe)")
    sweep.add_argument("--trials", type=int, default=None, help="number of trials (grid: default every point)")
    sweep.add_argument("--output", type=Path, required=True, help="sweep folder to write (rerun it to resume)")
    sweep.add_argument("--no-stack", action="store_true", help="train trials one at a time instead of stacked")
    sweep.add_argument(
        "--stack-size",
        type=int,
        default=None,
        help="trials asked and trained together (max); default: the planner's size per model, see docs/sweeps.md",
    )
    sweep.add_argument("--pruner", choices=PRUNERS, default="median", help="prune weak trials early (default median)")
    sweep.add_argument("--objective", choices=("val_loss", "test_loss"), default="val_loss")
    sweep.add_argument("--search-seed", type=int, default=0, help="seed of the sampler (default 0)")
    sweep.add_argument("--config", type=Path, help="training_config.json (per-model architecture, lr, weight decay)")
    sweep.add_argument("--normalize", choices=["standard", "minmax", "none"], default=None)
    for name, (kind, text) in HYPERPARAMETER_FLAGS.items():
        sweep.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=text)
    sweep.set_defaults(handler=run_sweep_command)


def load_space(path: Path) -> dict[str, Any]:
    """Read a search space JSON object."""
    try:
        space = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"search space file not found: {path}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"search space {path} is not valid JSON: {exc}") from None
    if not isinstance(space, dict):
        raise ConfigError(f"search space {path} must hold a JSON object of parameters")
    return space


def run_sweep_command(args: argparse.Namespace) -> int:
    """Handler of `mltrain sweep`."""
    config = build_config(args)
    space = load_space(args.space)
    if args.output.exists() and not args.output.is_dir():
        raise ConfigError(f"--output {args.output} exists and is not a folder")
    from ml.sweep.runner import SweepCallbacks, TrialRecord, run_sweep

    class Progress(SweepCallbacks):
        def on_trial_complete(self, record: TrialRecord) -> None:
            shown = "-" if record.objective is None else f"{record.objective:.4g}"
            print(f"trial {record.number}: {record.status} ({record.stop_reason}, {record.epochs} epochs) "
                  f"objective {shown} params {json.dumps(record.params)}", flush=True)  # fmt: skip

    result = run_sweep(
        args.model, _source(args), config, space, args.strategy, args.trials, args.output,
        stack=not args.no_stack, seed=args.search_seed, callbacks=Progress(), pruner=args.pruner,
        objective=args.objective, stack_size=args.stack_size,
    )  # fmt: skip
    if result.best is not None:
        print(f"best trial {result.best.number}: {args.objective} {result.best.objective:.4g} "
              f"params {json.dumps(result.best.params)}")  # fmt: skip
    print(f"wrote {args.output / 'sweep.json'}" + (f" and {args.output / 'best'}" if result.best_run else ""))
    return 1 if result.cancelled else 0
