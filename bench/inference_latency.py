"""Single-sample PyTorch inference latency per model on one thread (mean / p50 / p99 over many runs).
Run: .venv/bin/python -m bench.inference_latency [--runs 2000]
"""

from __future__ import annotations

import argparse
import json

import torch

from ml.evaluate import measure_latency
from ml.models import MODEL_KEYS, build_model


def main() -> None:
    """Print one JSON line per model."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for key in MODEL_KEYS:
        model = build_model(key).eval()
        single = measure_latency(model, 1, args.runs, warmup=200)
        batch = measure_latency(model, 64, args.runs // 4, warmup=50)
        print(
            json.dumps(
                {
                    "model": key,
                    "single_mean_ms": round(single["mean_ms"], 4),
                    "single_p50_ms": round(single["p50_ms"], 4),
                    "single_p99_ms": round(single["p99_ms"], 4),
                    "batch64_mean_ms": round(batch["mean_ms"], 4),
                }
            )
        )


if __name__ == "__main__":
    main()
