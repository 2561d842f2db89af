"""MIDI augmentation on training rows: transposition, tempo scaling, note-probability dropout.

`augment_rows(train_subset, config, seed)` returns the rows followed by `config.copies` augmented copies of
each (the trainer calls it on the training split only; validation and test rows are never touched). Each
copy draws, from a generator seeded by `seed`, a transposition k (integer, uniform in +/- transpose_semitones)
and a tempo factor s (uniform in 1 +/- tempo_scale). The row transforms are what the same change to the MIDI
file does to the documented vectors:
- melody_transformer: transposition and tempo are no-ops for both input and target. Both are computed in the
  key-relative frame of `ml.data.symbolic.melody` (transposing a file moves its tonic with its notes, so they
  are unchanged, or their pitch entries move by an octave where the tonic wraps across the F#/G edge of the
  shift window) and from tempo-invariant ratios (seconds / max seconds, onsets per beat), so no copies are
  made unless note_dropout > 0 (default 0, off). note_dropout is a target-only regulariser: each copy zeroes
  each non-zero target entry with probability note_dropout, keeping the strongest (max stays 1). That is the
  target of the segment with every note of the dropped pitches deleted (the file's key held fixed); the input
  (emotion label, mode, previous segment) is unchanged, since deleting notes of the predicted segment does not
  touch what was played before it.
- harmony_predictor: chord roots move by k in both the context and the target (augmented triads by k mod 4).
- dynamics_engine: absolute pitch features (dynamics.PITCH_COLUMNS) shift by k/127 (zero "missing" values
  stay zero); tempo multiplies the BPM feature (TEMPO_COLUMN, 0 without a beat grid) by s, divides the
  seconds-based inputs (SECONDS_COLUMNS; a value of 1, meaning "none" or clipped, stays 1) and the seconds
  targets (SECONDS_TARGETS: duration, cluster offset) by s, and scales the centred seconds target (overlap,
  CENTRED_SECONDS_TARGETS) about 0.5 by 1/s; beat and bar phases are unchanged (the tempo map scales with the
  notes); window and chord counts are kept (an approximation: their 1 s / 4 s / 30 ms spans are fixed).
  Clipped to [0, 1].
- groove_predictor: tempo moves the tempo parameter (target 29: BPM = 120 + 60 p -> s * BPM); transposition
  does not apply to drums. The emotion input is unchanged.
"""

from __future__ import annotations

import numpy as np

from ml.config import AugmentationConfig
from ml.data.symbolic.chords import VOCAB_SIZE, transpose_class
from ml.data.symbolic.dynamics import (
    CENTRED_SECONDS_TARGETS,
    PITCH_COLUMNS,
    SECONDS_COLUMNS,
    SECONDS_TARGETS,
    TEMPO_COLUMN,
)
from ml.dataset import ArrayDataset


def _renormalise(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    peak = new.max(axis=1, keepdims=True)
    return np.where(peak > 0, new / np.maximum(peak, 1e-12), old)


def _melody(x: np.ndarray, y: np.ndarray, k: int, s: float, cfg: AugmentationConfig, rng: np.random.Generator):
    if cfg.note_dropout <= 0:
        return x, y
    keep = rng.random(y.shape) >= cfg.note_dropout
    keep[np.arange(len(y)), y.argmax(axis=1)] = True
    return x, _renormalise(y * keep, y)


def _harmony(x: np.ndarray, y: np.ndarray, k: int, s: float, cfg: AugmentationConfig, rng: np.random.Generator):
    perm = np.array([transpose_class(c, k) for c in range(VOCAB_SIZE)])
    context = np.zeros_like(x[:, 64:])
    context[:, perm] = x[:, 64:]
    target = np.zeros_like(y)
    target[:, perm] = y
    return np.concatenate([x[:, :64], context], axis=1), target


def _dynamics(x: np.ndarray, y: np.ndarray, k: int, s: float, cfg: AugmentationConfig, rng: np.random.Generator):
    x, y = x.copy(), y.copy()
    cols = list(PITCH_COLUMNS)
    x[:, cols] = np.where(x[:, cols] > 0, x[:, cols] + k / 127.0, 0.0)
    x[:, TEMPO_COLUMN] *= s
    seconds = list(SECONDS_COLUMNS)
    x[:, seconds] = np.where(x[:, seconds] >= 1.0, 1.0, x[:, seconds] / s)  # 1 = "none" or clipped: kept
    y[:, list(SECONDS_TARGETS)] /= s
    centred = list(CENTRED_SECONDS_TARGETS)
    y[:, centred] = 0.5 + (y[:, centred] - 0.5) / s
    return np.clip(x, 0, 1), np.clip(y, 0, 1)


def _groove(x: np.ndarray, y: np.ndarray, k: int, s: float, cfg: AugmentationConfig, rng: np.random.Generator):
    y = y.copy()
    y[:, 29] = np.clip(((120.0 + 60.0 * y[:, 29]) * s - 120.0) / 60.0, -1, 1)
    return x, y


_TRANSFORMS = {
    "melody_transformer": _melody,
    "harmony_predictor": _harmony,
    "dynamics_engine": _dynamics,
    "groove_predictor": _groove,
}


def augment_rows(dataset: ArrayDataset, config: AugmentationConfig, seed: int) -> ArrayDataset:
    """`dataset` (the training rows) followed by `config.copies` augmented copies; unchanged if off."""
    transform = _TRANSFORMS.get(dataset.model_key)
    if transform is None or config.copies <= 0:
        return dataset
    if dataset.model_key == "melody_transformer" and config.note_dropout <= 0:
        return dataset  # transposition and tempo leave key-relative inputs and targets unchanged: copies would repeat
    rng = np.random.default_rng(seed)
    xs, ys = [dataset.inputs], [dataset.targets]
    for _ in range(int(config.copies)):
        t = int(config.transpose_semitones)
        k = int(rng.integers(-t, t + 1)) if t > 0 else 0
        s = float(rng.uniform(1 - config.tempo_scale, 1 + config.tempo_scale)) if config.tempo_scale > 0 else 1.0
        s = max(s, 0.05)
        x, y = transform(dataset.inputs, dataset.targets, k, s, config, rng)
        xs.append(x)
        ys.append(y)
    reps = int(config.copies) + 1
    return ArrayDataset(
        model_key=dataset.model_key,
        inputs=np.concatenate(xs),
        targets=np.concatenate(ys),
        groups=None if dataset.groups is None else np.tile(dataset.groups, reps),
        split=None if dataset.split is None else np.tile(dataset.split, reps),
        source=dataset.source,
        info={**dataset.info, "augmented_copies": int(config.copies)},
    )
