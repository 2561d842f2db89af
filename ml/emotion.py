"""The shared emotion embedding: one documented, decodable map between (valence, arousal) and 64 numbers.

Every model that takes or gives emotion uses it, so the plugin can chain emotion_recognizer's output into the
other networks. Valence and arousal live in [-1, 1] (DEAM's 1..9 scale maps as (x - 5) / 4). The embedding is
an 8 x 8 grid of Gaussian radial basis functions over that square, rescaled from (0, 1] to (-1, 1] so that it
fits the tanh output of emotion_recognizer:

    e[8 * i + j] = 2 * exp(-((v - c_j)^2 + (a - c_i)^2) / (2 * SIGMA^2)) - 1,   c_k = -1 + 2k/7,  SIGMA = 2/7

(i indexes arousal rows, j valence columns). `decode` inverts it by a least-squares search over a 0.01 grid
(every grid point, computed separably), which is exact to the grid for clean embeddings and degrades gracefully
for predicted ones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EMBEDDING_SIZE = 64
GRID = 8
SIGMA = 2.0 / (GRID - 1)
CENTRES = np.linspace(-1.0, 1.0, GRID)

FloatArray = npt.NDArray[np.float32]


def encode(valence: npt.ArrayLike, arousal: npt.ArrayLike) -> FloatArray:
    """Embed valence/arousal (scalars or arrays in [-1, 1]) as [..., 64] float32 vectors."""
    v = np.clip(np.asarray(valence, dtype=np.float64), -1.0, 1.0)[..., None, None]
    a = np.clip(np.asarray(arousal, dtype=np.float64), -1.0, 1.0)[..., None, None]
    dv = (v - CENTRES[None, :]) ** 2  # [..., 1, 8] valence columns
    da = (a - CENTRES[:, None]) ** 2  # [..., 8, 1] arousal rows
    rbf = np.exp(-(dv + da) / (2.0 * SIGMA**2))
    out = 2.0 * rbf - 1.0
    return out.reshape(*out.shape[:-2], EMBEDDING_SIZE).astype(np.float32)


_DECODE_STEPS = np.round(np.linspace(-1.0, 1.0, 201), 6)
_DECODE_V, _DECODE_A = np.meshgrid(_DECODE_STEPS, _DECODE_STEPS, indexing="xy")
_DECODE_TABLE = encode(_DECODE_V.ravel(), _DECODE_A.ravel()).astype(np.float32)  # [201*201, 64]
_DECODE_NORMS = (_DECODE_TABLE.astype(np.float64) ** 2).sum(axis=1)


# The embedding is separable, 2 * g(a) g(v)^T - 1 over the 8 x 8 grid, so e.t for every grid point at once is
# 2 * G E G^T - sum(e) with G [201, 8] the basis on the decode steps: 8x fewer multiply-adds than e @ table.T
# over 40,401 rows of 64, which was 80% of an emotion_recognizer epoch (its validation decodes every row).
_DECODE_BASIS = np.exp(-((_DECODE_STEPS[:, None] - CENTRES[None, :]) ** 2) / (2.0 * SIGMA**2))  # [201, 8]
_DECODE_NORM_GRID = _DECODE_NORMS.reshape(len(_DECODE_STEPS), len(_DECODE_STEPS))  # [arousal, valence]


def decode(embedding: npt.ArrayLike, chunk: int = 16) -> FloatArray:
    """Recover [..., 2] (valence, arousal) from [..., 64] embeddings by nearest grid point (0.01 steps)."""
    emb = np.asarray(embedding, dtype=np.float64)
    if emb.shape[-1] != EMBEDDING_SIZE:
        raise ValueError(f"an emotion embedding has {EMBEDDING_SIZE} values, got {emb.shape[-1]}")
    flat = emb.reshape(-1, GRID, GRID)  # [rows, arousal i, valence j]
    result = np.empty((flat.shape[0], 2), dtype=np.float32)
    steps = len(_DECODE_STEPS)
    for start in range(0, flat.shape[0], chunk):  # 16 rows: a [16, 201, 201] block stays near the cache
        block = flat[start : start + chunk]
        # ||e - t||^2 = ||e||^2 - 2 e.t + ||t||^2 = const - 4 G E G^T + ||t||^2 (constants per row dropped).
        distance = _DECODE_BASIS @ block @ _DECODE_BASIS.T
        distance *= -4.0
        distance += _DECODE_NORM_GRID
        best = distance.reshape(len(block), -1).argmin(axis=1)
        result[start : start + chunk, 0] = _DECODE_STEPS[best % steps]
        result[start : start + chunk, 1] = _DECODE_STEPS[best // steps]
    return result.reshape(*emb.shape[:-1], 2)


def quadrant_to_valence_arousal(quadrant: int) -> tuple[float, float]:
    """Russell quadrant Q1..Q4 (EMOPIA) as the centre of that quadrant: Q1 (+,+), Q2 (-,+), Q3 (-,-), Q4 (+,-)."""
    table = {1: (0.5, 0.5), 2: (-0.5, 0.5), 3: (-0.5, -0.5), 4: (0.5, -0.5)}
    if quadrant not in table:
        raise ValueError(f"quadrant must be 1..4, got {quadrant}")
    return table[quadrant]
