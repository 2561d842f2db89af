"""Synthetic data: seeded, learnable stand-ins with the real shapes and ranges of each model's vectors.

Each model gets a hidden, musically plausible function of a random (valence, arousal) or context draw — not
noise — so a short run shows the loss falling. It is the quick test mode and the fallback without data:
- emotion_recognizer: 128 log-mel-like dB values. Arousal tilts the spectrum (energetic music is brighter and
  louder), valence moves a formant-like bump (brighter timbre for positive valence); small seeded noise.
  Target: `emotion.encode(v, a)`.
- melody_transformer: (valence, arousal, mode = v <= 0, previous segment) -> 128 note probabilities:
  membership of the major (v > 0) or natural minor (v <= 0) scale on C, blended by |v|, times a Gaussian
  register window centred at MIDI 48 + 24 * (a + 1) / 2. The previous segment (absent for 10% of rows) is the
  same function of a jittered (v, a), scaled by seeded noise and cut below 0.05, with onset density rising
  with arousal, encoded by `melody.context_vector` exactly as real rows are.
- harmony_predictor: embedding ++ one-hot of the current chord class (of 64) -> next-chord distribution: a
  softmax over circle-of-fifths distance from the current chord, plus a valence-dependent major/minor bias.
- dynamics_engine: 32 context features in [0, 1] -> 16 expression parameters in (0, 1), each a sigmoid of a
  fixed smooth combination (velocity follows pitch height and density, timing follows beat position, ...).
- groove_predictor: embedding -> 32 groove parameters in (-1, 1): densities rise with arousal, swing and
  syncopation with valence, via fixed smooth tanh curves.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ml import emotion
from ml.dataset import ArrayDataset
from ml.models.registry import get_spec

FloatArray = npt.NDArray[np.float32]

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=np.float64)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=np.float64)


def _emotions(rng: np.random.Generator, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)


def _emotion_recognizer(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    v, a = _emotions(rng, n)
    bands = np.linspace(0.0, 1.0, 128)[None, :]
    tilt = -60.0 * bands * (1.0 - 0.5 * (a[:, None] + 1.0) / 2.0)
    bump_centre = 0.3 + 0.25 * v[:, None]
    bump = 12.0 * np.exp(-((bands - bump_centre) ** 2) / (2 * 0.05**2))
    level = -30.0 + 10.0 * a[:, None]
    mel_db = level + tilt + bump + rng.normal(0.0, 1.0, size=(n, 128))
    return mel_db.astype(np.float32), emotion.encode(v, a)


def _scale_register(v: npt.NDArray[np.float64], a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    pitches = np.arange(128)
    major_weight = (v[:, None] + 1.0) / 2.0
    scale = major_weight * _MAJOR[pitches % 12] + (1.0 - major_weight) * _MINOR[pitches % 12]
    centre = 48.0 + 24.0 * (a[:, None] + 1.0) / 2.0
    return scale * np.exp(-((pitches[None, :] - centre) ** 2) / (2 * 8.0**2))


def _melody_transformer(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    from ml.data.symbolic.melody import EMOTION_COLUMNS, context_vector

    v, a = _emotions(rng, n)
    prev_v = np.clip(v + rng.normal(0.0, 0.15, n), -1, 1)
    prev_a = np.clip(a + rng.normal(0.0, 0.15, n), -1, 1)
    previous = _scale_register(prev_v, prev_a) * rng.uniform(0.5, 1.0, size=(n, 128))
    previous[previous < 0.05] = 0.0
    present = rng.random(n) >= 0.1
    onsets = np.round(16.0 * (0.5 + 0.75 * (prev_a + 1.0)) * rng.uniform(0.8, 1.2, n)).astype(np.int64)
    rows = [context_vector(previous[i] if present[i] else None, int(onsets[i]), 16.0, bool(v[i] <= 0))
            for i in range(n)]  # fmt: skip
    inputs = np.asarray(rows).reshape(n, 64)
    inputs[:, EMOTION_COLUMNS[0]], inputs[:, EMOTION_COLUMNS[1]] = v, a
    return inputs.astype(np.float32), _scale_register(v, a).astype(np.float32)


def _harmony_predictor(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    v, a = _emotions(rng, n)
    current = rng.integers(0, 64, n)
    context = np.zeros((n, 64))
    context[np.arange(n), current] = 1.0
    classes = np.arange(64)
    # Treat class c as root c % 12 with quality c // 12 (the hidden function only needs some structure).
    root_step = ((classes[None, :] % 12 - current[:, None] % 12) * 7) % 12
    fifths_distance = np.minimum(root_step, 12 - root_step)
    minor_like = (classes[None, :] // 12) % 2
    logits = -0.8 * fifths_distance + 1.5 * v[:, None] * (1 - 2 * minor_like) + 0.5 * a[:, None] * (classes >= 48)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    inputs = np.concatenate([emotion.encode(v, a), context], axis=1)
    return inputs.astype(np.float32), probs.astype(np.float32)


def _dynamics_engine(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    x = rng.uniform(0.0, 1.0, size=(n, 32))
    mix = np.random.default_rng(1234).normal(0.0, 1.0, size=(32, 16)) / np.sqrt(32)
    smooth = np.sin(np.pi * x) @ mix + (x**2) @ mix[::-1] * 0.5
    return x.astype(np.float32), (1.0 / (1.0 + np.exp(-2.0 * smooth))).astype(np.float32)


def _groove_predictor(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    v, a = _emotions(rng, n)
    k = np.arange(32)[None, :]
    phase = k * np.pi / 16
    target = np.tanh(1.5 * a[:, None] * np.cos(phase) + 1.0 * v[:, None] * np.sin(2 * phase) + 0.2 * np.cos(3 * phase))
    return emotion.encode(v, a), target.astype(np.float32)


_GENERATORS = {
    "emotion_recognizer": _emotion_recognizer,
    "melody_transformer": _melody_transformer,
    "harmony_predictor": _harmony_predictor,
    "dynamics_engine": _dynamics_engine,
    "groove_predictor": _groove_predictor,
}


def make_synthetic(model_key: str, n_samples: int, seed: int) -> ArrayDataset:
    """A deterministic, learnable data set of `n_samples` for `model_key`."""
    get_spec(model_key)
    rng = np.random.default_rng([seed, list(_GENERATORS).index(model_key)])
    inputs, targets = _GENERATORS[model_key](rng, n_samples)
    return ArrayDataset(model_key, inputs, targets, source="synthetic", info={"samples": n_samples, "seed": seed})
