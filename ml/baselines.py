"""The baselines a sceptic tries first, fitted on the training split only and scored on the same test rows.

Every model gets the training-mean predictor (for harmony that is the unigram distribution; for melody the
emotion-blind note distribution). Per model, the obvious heuristic on top:
- emotion_recognizer: ridge regression from the 128 mel features to the embedding (a linear probe).
- melody_transformer: the mean training target of the nearest training (valence, arousal, mode), and
  persistence: the previous segment's notes again (its 40..76 window, an input), blended with the mean.
- groove_predictor: the mean training target of the nearest training emotion (a lookup table keyed by the
  input embedding; the most a model that only sees emotion can learn from these rows).
- harmony_predictor: bigram P(next | current chord) counted on the training split (add-one smoothing toward
  the unigram), the current chord being the context's strongest entry.
- dynamics_engine: the recent velocity mean (velocity = the input "mean velocity of the previous 8 notes",
  other targets the training mean), and ridge regression on the 32 inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ml.emotion import EMBEDDING_SIZE

Array = npt.NDArray[np.float64]
Predictor = Callable[[Array], Array]
RIDGE_LAMBDA = 1e-3  # per training row, on standardised inputs: a mild, fixed shrinkage
NEAREST_CHUNK = 2048


@dataclass(frozen=True)
class Baseline:
    """A named predictor from raw model inputs to outputs in the model's output space."""

    name: str
    description: str
    predict: Predictor


def _mean(targets: Array, description: str, name: str = "training_mean") -> Baseline:
    mean = targets.mean(axis=0)
    return Baseline(name, description, lambda x: np.repeat(mean[None, :], len(x), axis=0))


def _ridge(inputs: Array, targets: Array, low: float, high: float) -> Baseline:
    centre, scale = inputs.mean(axis=0), inputs.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    z = (inputs - centre) / scale
    target_mean = targets.mean(axis=0)
    gram = z.T @ z + RIDGE_LAMBDA * len(z) * np.eye(z.shape[1])
    weights = np.linalg.solve(gram, z.T @ (targets - target_mean))

    def predict(x: Array) -> Array:
        return np.clip(((x - centre) / scale) @ weights + target_mean, low, high)

    return Baseline("ridge", "linear (ridge) regression on the raw inputs, fitted on the training split", predict)


def _nearest_emotion(inputs: Array, targets: Array, columns: slice | list[int], what: str) -> Baseline:
    keys, inverse = np.unique(np.round(inputs[:, columns], 6), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(keys), targets.shape[1]))
    np.add.at(sums, inverse, targets)
    table = sums / np.bincount(inverse, minlength=len(keys))[:, None]

    def predict(x: Array) -> Array:
        out = np.empty((len(x), targets.shape[1]))
        for start in range(0, len(x), NEAREST_CHUNK):
            chunk = x[start : start + NEAREST_CHUNK][:, columns]
            distance = (chunk**2).sum(1)[:, None] - 2 * chunk @ keys.T + (keys**2).sum(1)[None, :]
            out[start : start + NEAREST_CHUNK] = table[distance.argmin(axis=1)]
        return out

    return Baseline(
        "nearest_emotion", f"mean training target of the nearest of the {len(keys)} training {what}", predict
    )


def _persistence(inputs: Array, targets: Array) -> Baseline:
    """melody: the previous segment's notes again, blended with the training mean by a weight fitted on train."""
    from ml.data.symbolic.melody import PREV_WINDOW_COLUMNS, PREV_WINDOW_PITCHES
    from ml.scoring import output_loss

    columns, pitches = list(PREV_WINDOW_COLUMNS), list(PREV_WINDOW_PITCHES)
    mean = targets.mean(axis=0)

    def blend(x: Array, weight: float) -> Array:
        out = np.repeat(mean[None, :], len(x), axis=0)
        out[:, pitches] = weight * x[:, columns] + (1 - weight) * mean[pitches]
        return out

    weights = np.linspace(0.0, 1.0, 21)
    best = min(weights, key=lambda w: output_loss("melody_transformer", blend(inputs, float(w)), targets))
    return Baseline(
        "persistence",
        f"the previous segment's pitches {pitches[0]}..{pitches[-1]} again, weight {best:.2f} against the training "
        "mean (fitted on the training split); other pitches the training mean",
        lambda x: blend(x, float(best)),
    )


def _bigram(inputs: Array, targets: Array) -> Baseline:
    current = inputs[:, EMBEDDING_SIZE:].argmax(axis=1)
    vocab = targets.shape[1]
    unigram = targets.mean(axis=0)
    counts = np.zeros((vocab, vocab))
    np.add.at(counts, current, targets)
    table = (counts + unigram[None, :]) / (counts.sum(axis=1, keepdims=True) + 1.0)

    def predict(x: Array) -> Array:
        return table[x[:, EMBEDDING_SIZE:].argmax(axis=1)]

    return Baseline("bigram", "P(next chord | current chord) counted on the training split, add-one smoothed", predict)


def _recent_velocity(targets: Array) -> Baseline:
    from ml.data.symbolic.dynamics import RECENT_VELOCITY_COLUMN

    mean = targets.mean(axis=0)

    def predict(x: Array) -> Array:
        out = np.repeat(mean[None, :], len(x), axis=0)
        recent = x[:, RECENT_VELOCITY_COLUMN]
        out[:, 0] = np.where(recent > 0, recent, mean[0])  # the first note has no history: training mean
        return out

    return Baseline(
        "recent_velocity",
        "velocity = mean velocity of the previous 8 notes (an input); other targets the training mean",
        predict,
    )


def fit_baselines(model_key: str, inputs: npt.ArrayLike, targets: npt.ArrayLike) -> list[Baseline]:
    """The baselines of one model, fitted on training rows (raw inputs, targets in the model's output space)."""
    x = np.asarray(inputs, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if model_key == "emotion_recognizer":
        return [_mean(y, "the training-mean embedding for every clip"), _ridge(x, y, -1.0, 1.0)]
    if model_key == "melody_transformer":
        return [
            _mean(y, "emotion-blind: the training-mean note distribution", "emotion_blind"),
            _nearest_emotion(x, y, [0, 1, 2], "(valence, arousal, mode) triples"),
            _persistence(x, y),
        ]
    if model_key == "harmony_predictor":
        return [_mean(y, "unigram: next-chord frequencies of the training split", "unigram"), _bigram(x, y)]
    if model_key == "dynamics_engine":
        return [_mean(y, "the training-mean expression vector for every note"), _recent_velocity(y), _ridge(x, y, 0, 1)]
    if model_key == "groove_predictor":
        return [
            _mean(y, "the training-mean groove for every emotion"),
            _nearest_emotion(x, y, slice(0, EMBEDDING_SIZE), "emotions (embedding distance)"),
        ]
    raise ValueError(f"no baselines for {model_key!r}")
