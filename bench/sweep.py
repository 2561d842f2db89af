"""Sweep throughput: K trials trained stacked (ml.sweep.train_stack) vs one after another (ml.train.train_model).

Same process, same data (synthetic, --samples rows), same epochs and the same K configurations (learning rates
spread over a log range, two weight decays), batch 64, one torch thread, no early stopping, checkpoints at the end.
Reports trials per minute, the ratio, the planner's stack size (ml.sweep.stack_size) and its speed, and the
fraction of this core's FP32 matmul peak each loop reaches (3x the forward multiply-adds per sample per step,
over the whole wall time including validation and checkpoints).
Run: .venv/bin/python -m bench.sweep [--samples 4096] [--epochs 2] [--trials 8 32] [--models ...]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import torch

from ml.config import TrainConfig
from ml.models import MODEL_KEYS, build_model
from ml.models.layers import DenseSpec
from ml.sweep.plan import TrialPlan
from ml.sweep.stack_size import planned_stack_size
from ml.sweep.stacked import train_stack
from ml.synthetic import make_synthetic
from ml.train.trainer import train_model

BATCH = 64


def forward_flops(key: str) -> int:
    """FLOPs of one forward pass per sample (2 per multiply-add; an LSTM step computes 4 gates on its input)."""
    flops = 0
    for spec in build_model(key).specs:
        gates = 1 if isinstance(spec, DenseSpec) else 4
        flops += 2 * gates * spec.in_features * spec.out_features
    return flops


def peak_flops(size: int = 1024, repeats: int = 10) -> float:
    """Measured single-thread FP32 matmul FLOP/s: the practical roofline of this core."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def configs(count: int, epochs: int, samples: int) -> list[TrainConfig]:
    """`count` trials differing in learning rate (1e-4..1e-2, log-spaced) and weight decay (0 / 0.05)."""
    return [
        TrainConfig(
            epochs=epochs, batch_size=BATCH, synthetic_samples=samples, seed=7, early_stopping_patience=0,
            checkpoint_every=0, lr=10 ** (-4 + 2 * i / max(count - 1, 1)), weight_decay=0.05 * (i % 2),
        )
        for i in range(count)
    ]  # fmt: skip


def main() -> None:
    """Print one JSON line per model and K."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--trials", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--models", nargs="+", default=list(MODEL_KEYS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    peak = peak_flops()
    print(json.dumps({"machine": platform.processor() or platform.machine(), "peak_fp32_gflops_1thread": peak / 1e9}))
    for key in args.models:
        dataset = make_synthetic(key, args.samples, 7)
        for count in args.trials:
            plans = configs(count, args.epochs, args.samples)
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                start = time.perf_counter()
                for i, config in enumerate(plans):
                    train_model(key, dataset, config, root / f"solo{i}")
                solo = time.perf_counter() - start
                start = time.perf_counter()
                train_stack(key, dataset, [TrialPlan(i, c, root / f"stack{i}") for i, c in enumerate(plans)])
                stacked = time.perf_counter() - start
                size = planned_stack_size(key, plans[0], count)
                planned = solo if size == 1 else stacked  # the same work as one of the two loops above
                if 1 < size < count:
                    start = time.perf_counter()
                    for begin in range(0, count, size):
                        chunk = [TrialPlan(i, plans[i], root / f"plan{i}") for i in range(begin, begin + size)]
                        train_stack(key, dataset, chunk)
                    planned = time.perf_counter() - start
            train_rows = math.floor(args.samples * 0.6)  # about: the seeded split holds out 20% + 20%
            work = 3 * forward_flops(key) * train_rows * args.epochs * count
            print(json.dumps({
                "model": key, "trials": count, "epochs": args.epochs, "samples": args.samples,
                "solo_trials_per_min": round(60 * count / solo, 1),
                "stacked_trials_per_min": round(60 * count / stacked, 1),
                "speedup": round(solo / stacked, 2),
                "planned_stack": size, "planned_trials_per_min": round(60 * count / planned, 1),
                "planned_speedup": round(solo / planned, 2),
                "solo_fraction_of_peak": round(work / solo / peak, 3),
                "stacked_fraction_of_peak": round(work / stacked / peak, 3),
            }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
