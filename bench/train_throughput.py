"""Training throughput per model at batch 64 on one thread: mltrain's trainer loop vs a naive PyTorch loop.

Naive baseline = what the replaced scripts did: a map-style Dataset of per-sample tensors, a DataLoader and
default Adam. Both loops run the same model, loss and number of samples in the same process.
Run: .venv/bin/python -m bench.train_throughput [--samples 8192] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from torch.utils.data import DataLoader, Dataset

from ml.config import TrainConfig
from ml.models import MODEL_KEYS, LayerStack, RecurrentSpec, apply_activation, build_model
from ml.synthetic import make_synthetic
from ml.train.losses import compute_loss
from ml.train.trainer import _make_optimizer

BATCH = 64


class PerSampleDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """The baseline's data path: one tensor pair per __getitem__."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.items = [(inputs[i].clone(), targets[i].clone()) for i in range(len(inputs))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.items[index]


def naive_model(key: str) -> LayerStack:
    """The model as the replaced scripts ran it: recurrent layers through nn.LSTM on a length-1 sequence."""
    model = build_model(key)

    def preactivation(x: torch.Tensor) -> torch.Tensor:
        for index, spec in enumerate(model.specs):
            layer = model.layers[spec.name]
            x = layer(x.unsqueeze(1))[0].squeeze(1) if isinstance(spec, RecurrentSpec) else layer(x)
            if index != len(model.specs) - 1:
                x = apply_activation(x, spec.activation)
        return x

    model.preactivation = preactivation  # type: ignore[method-assign]
    return model


def naive_epoch(key: str, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds for one epoch of the baseline loop."""
    model = naive_model(key)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(PerSampleDataset(x, y), batch_size=BATCH, shuffle=True)
    start = time.perf_counter()
    for xb, yb in loader:
        optimizer.zero_grad()
        compute_loss(model, xb, yb).backward()
        optimizer.step()
    return time.perf_counter() - start


def mltrain_epoch(key: str, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds for one epoch of the trainer's loop (index batching on resident tensors, fused Adam)."""
    model = build_model(key)
    optimizer = _make_optimizer(model, 1e-3, 0.0, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    order = torch.randperm(len(x), generator=generator)
    for begin in range(0, len(x), BATCH):
        index = order[begin : begin + BATCH]
        loss = compute_loss(model, x[index], y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def forward_flops(key: str) -> int:
    """Multiply-accumulate FLOPs of one forward pass (2 per MAC; LSTM: 4 gates on input and zero state)."""
    model = build_model(key)
    flops = 0
    for spec in model.specs:
        gates = 1 if spec.__class__.__name__ == "DenseSpec" else 4
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


def main() -> None:
    """Print one JSON line per model and a summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    peak = peak_flops()
    print(json.dumps({"machine": platform.processor() or platform.machine(), "peak_fp32_gflops_1thread": peak / 1e9}))
    TrainConfig()  # validate defaults import cleanly
    for key in MODEL_KEYS:
        data = make_synthetic(key, args.samples, seed=0)
        x, y = torch.from_numpy(data.inputs), torch.from_numpy(data.targets)
        naive = min(naive_epoch(key, x, y) for _ in range(args.repeats))
        ours = min(mltrain_epoch(key, x, y) for _ in range(args.repeats))
        train_flops = 3 * forward_flops(key) * args.samples  # forward + backward ~ 3x forward
        print(
            json.dumps(
                {
                    "model": key,
                    "naive_samples_per_s": round(args.samples / naive),
                    "mltrain_samples_per_s": round(args.samples / ours),
                    "speedup": round(naive / ours, 2),
                    "fraction_of_peak_fp32": round(train_flops / ours / peak, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
