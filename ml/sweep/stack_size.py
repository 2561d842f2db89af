"""How many trials to train in one stack: a cost model of what stacking can share and what it costs.

Stacking shares the fixed per-step cost (autograd bookkeeping, the optimizer's launch, Python) among K trials; it
cannot make the matmuls cheaper, and it costs memory traffic: the [K, P] weights, gradients and two AdamW moments
(16 bytes per parameter per trial) leave the cache as K grows, and a [K, in, out] `bmm` runs slower per trial
than the solo `addmm` at the big models' shapes. Two terms, calibrated by bench/sweep.py (BENCHMARKS.md, Sweeps):
- compute: a solo step of COMPUTE_BOUND_FLOPS or more matmul work is already matmul-bound (emotion_recognizer and
  melody_transformer at batch 64: 129 and 145 MFLOP, 65-76% of the core's FP32 peak solo), so there is too little
  fixed cost to share and the trials run one after another (melody measured 0.83x stacked at K = 8);
- cache: otherwise K is the largest power of two whose stacked training state fits WORKING_SET_BYTES (harmony's
  74k parameters: 8; dynamics and groove, 13-19k: 32), where harmony measured 2.7x at K = 8 but 1.5x at K = 32.
A quick timing calibration was tried instead: on a shared 2-core machine the same solo step measured 3.5-8.7 ms
from one run to the next, so it chose stacks that were slower. The choice never changes a trial's result (a stack
trains every trial exactly as it trains alone), only the speed; --stack-size overrides it.
"""

from __future__ import annotations

from ml.config import TrainConfig
from ml.models import build_model
from ml.models.layers import DenseSpec

MAX_STACK = 32
COMPUTE_BOUND_FLOPS = 64e6
WORKING_SET_BYTES = 16 * 1024**2
STATE_BYTES_PER_PARAMETER = 16  # FP32 weight, gradient, exp_avg, exp_avg_sq


def step_cost(model_key: str, config: TrainConfig) -> tuple[float, int]:
    """(matmul FLOPs of one solo training step: 3x the forward multiply-adds x2 of a batch, trained parameters)."""
    flops, parameters = 0, 0
    for spec in build_model(model_key, config.architecture_for(model_key)).specs:
        # A recurrent layer runs one step from zero state: only its input matrix and biases are trained.
        gates = 1 if isinstance(spec, DenseSpec) else (4 if spec.kind == "lstm" else 3)
        flops += 2 * gates * spec.in_features * spec.out_features
        parameters += gates * (spec.in_features + 1) * spec.out_features
    return 3.0 * flops * config.batch_size, parameters


def planned_stack_size(model_key: str, config: TrainConfig, trials: int) -> int:
    """Trials per stack for `trials` trials of this shape: 1 (one after another) up to min(trials, MAX_STACK)."""
    flops, parameters = step_cost(model_key, config)
    if flops >= COMPUTE_BOUND_FLOPS:
        return 1
    fits = max(1, WORKING_SET_BYTES // (STATE_BYTES_PER_PARAMETER * parameters))
    size = 1 << (fits.bit_length() - 1)  # a power of two: the stacks of one batch stay even
    return max(1, min(size, MAX_STACK, trials))
