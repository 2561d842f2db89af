"""Sweep commands of the HTTP client: `mltrain submit-sweep` and `mltrain sweep-status [--wait]` (torch-free)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

STRATEGIES = ("grid", "random", "tpe")
FINISHED = ("succeeded", "failed", "cancelled")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `submit-sweep` and `sweep-status`."""
    submit = subparsers.add_parser("submit-sweep", help="submit a hyperparameter sweep to a running server")
    submit.add_argument("--model", required=True)
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", action="store_true")
    source.add_argument("--dataset-id")
    submit.add_argument("--space", type=Path, required=True, help="search space JSON (docs/sweeps.md)")
    submit.add_argument("--strategy", choices=STRATEGIES, default="tpe")
    submit.add_argument("--trials", type=int, help="number of trials (grid: default every point)")
    submit.add_argument("--batch-size", type=int, help="trials per batch job (default: docs/sweeps.md)")
    submit.add_argument("--objective", choices=("val_loss", "test_loss"), default="val_loss")
    submit.add_argument("--pruner", choices=("none", "median", "halving"), default="median")
    submit.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    submit.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a fixed param (JSON)")
    submit.set_defaults(handler=run_submit_sweep)

    status = subparsers.add_parser("sweep-status", help="show a sweep's trials and best trial")
    status.add_argument("sweep")
    status.add_argument("--wait", action="store_true", help="poll until it finishes; exit 0 only if it succeeded")
    status.set_defaults(handler=run_sweep_status)


def parse_params(items: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs, each value read as JSON (else kept as text)."""
    params: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return params


def run_submit_sweep(args: argparse.Namespace) -> int:
    """Handler of `mltrain submit-sweep`: prints the sweep id."""
    from app.cli import _request
    from ml.cli.sweep import load_space

    body: dict[str, Any] = {
        "model": args.model,
        "params": parse_params(args.param),
        "space": load_space(args.space),
        "strategy": args.strategy,
        "objective": args.objective,
        "pruner": args.pruner,
        "seed": args.seed,
    }
    for name in ("trials", "batch_size"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    body.update({"synthetic": True} if args.synthetic else {"dataset_id": args.dataset_id})
    print(_request("POST", "/sweeps", json=body).json()["id"])
    return 0


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def describe(sweep: dict[str, Any]) -> list[str]:
    """The sweep's status line, one line per trial, and the best trial."""
    done = sum(t["status"] != "running" for t in sweep["trials"])
    error = f" error: {sweep['error']}" if sweep.get("error") else ""
    lines = [f"{sweep['id']} {sweep['status']} {done}/{sweep['trial_count']} trials ({sweep['strategy']}){error}"]
    for trial in sweep["trials"]:
        lines.append(
            f"  trial {trial['number']:>3} {trial['status']:<8} {sweep['objective']} {_number(trial['objective'])} "
            f"epochs {trial['epochs']} params {json.dumps(trial['params'], sort_keys=True)}"
        )
    best = sweep.get("best")
    if best:
        job = f" job {sweep['best_job_id']}" if sweep.get("best_job_id") else ""
        lines.append(f"best trial {best['number']}: {sweep['objective']} {_number(best['objective'])}{job}")
    return lines


def run_sweep_status(args: argparse.Namespace) -> int:
    """Handler of `mltrain sweep-status`: the sweep now, or with --wait once it finishes."""
    from app.cli import _request

    last = ""
    while True:
        sweep = _request("GET", f"/sweeps/{args.sweep}").json()
        if not args.wait or sweep["status"] in FINISHED:
            print("\n".join(describe(sweep)))
            return 0 if sweep["status"] == "succeeded" or not args.wait else 1
        head = describe(sweep)[0]
        if head != last:
            sys.stderr.write(head + "\n")
            last = head
        time.sleep(1.0)
