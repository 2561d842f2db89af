"""harmony_predictor rows from chord sequences.

Input (128) = emotion.encode(valence, arousal) (64) ++ chord context (64). The context after chord t is a
decayed sum of the last CONTEXT_LENGTH chords: context[k] = sum over j = 0..3 of DECAY^j * [class(chord
t-j) == k], DECAY = 0.5 (so the current chord counts 1, the one before 0.5, then 0.25, 0.125; values lie in
[0, 1.875]). An N.C. clears the history. Target (64) = one-hot of chord t+1 (sums to 1). Consecutive repeats
of one chord are merged first (the model predicts chord *changes*); a pair whose next chord is N.C. is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ml import emotion
from ml.data.symbolic.chords import NO_CHORD, VOCAB_SIZE, transpose_class

CONTEXT_LENGTH = 4
DECAY = 0.5


def merge_repeats(classes: Sequence[int]) -> list[int]:
    """Drop immediate repeats: [C, C, G, G, C] -> [C, G, C]."""
    merged: list[int] = []
    for c in classes:
        if not merged or merged[-1] != c:
            merged.append(c)
    return merged


def chord_context(history: Sequence[int]) -> np.ndarray:
    """The 64-dim context vector of a chord history (most recent last), as defined above."""
    context = np.zeros(VOCAB_SIZE, dtype=np.float32)
    for j, c in enumerate(reversed(history[-CONTEXT_LENGTH:])):
        if c == NO_CHORD:
            break
        context[c] += DECAY**j
    return context


def harmony_rows(classes: Sequence[int], valence: float, arousal: float) -> tuple[np.ndarray, np.ndarray]:
    """([P, 128] inputs, [P, 64] targets) for one progression of chord classes."""
    seq = merge_repeats(classes)
    emb = emotion.encode(valence, arousal)
    inputs, targets = [], []
    for t in range(len(seq) - 1):
        current, following = seq[t], seq[t + 1]
        if current == NO_CHORD or following == NO_CHORD:
            continue
        start = t
        while start > 0 and seq[start - 1] != NO_CHORD and t - start + 1 < CONTEXT_LENGTH:
            start -= 1
        target = np.zeros(VOCAB_SIZE, dtype=np.float32)
        target[following] = 1.0
        inputs.append(np.concatenate([emb, chord_context(seq[start : t + 1])]))
        targets.append(target)
    if not inputs:
        return np.zeros((0, 128), np.float32), np.zeros((0, VOCAB_SIZE), np.float32)
    return np.asarray(inputs, np.float32), np.asarray(targets, np.float32)


def _progression_key(classes: Sequence[int]) -> tuple[int, ...]:
    """The merged progression moved to the key where its first chord's root is C (transposition-invariant)."""
    seq = merge_repeats(classes)
    first = next((c for c in seq if c != NO_CHORD and c < 60), None)
    shift = 0 if first is None else -(first % 12)
    return tuple(c if c == NO_CHORD else transpose_class(c, shift) for c in seq)


def progression_groups(progressions: Sequence[Sequence[int]]) -> list[int]:
    """A group id per progression: repeats of one progression (in any key) share one, so a split cannot put a
    copy of a tune on both sides."""
    ids: dict[tuple[int, ...], int] = {}
    return [ids.setdefault(_progression_key(classes), len(ids)) for classes in progressions]
