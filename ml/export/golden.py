"""Golden vectors (`MODEL.io.json`): raw inputs and the PyTorch model's outputs, for the plugin's own tests.

The inputs are in the raw feature space the plugin feeds (docs/models.md), before the normalizer the exporter
folds into the first layer. They are real data rows when the caller has them (evenly spaced, so the choice is
deterministic) plus edge cases: all zeros and the per-feature minimum and maximum of those rows. Without rows
they are documented neutral inputs: zeros, the normalizer's offset (x_norm = 0), offset +- scale (x_norm = +-1),
and seeded rows around the training distribution. Outputs are PyTorch's, computed in float64 on the model's
float32 weights with the normalizer applied in float64, then rounded to float32: the exact answer for those
weights, which any float32 runtime should approach.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ml.errors import ExportError
from ml.export.document import load_rtneural, output_size, weights_sha256
from ml.export.reference import reference_forward
from ml.normalize import FeatureNormalizer

if TYPE_CHECKING:  # torch only where a model is run: check_golden serves the torch-free bundle and API
    from ml.models import LayerStack

GOLDEN_FORMAT_VERSION = 1
DEFAULT_GOLDEN_COUNT = 16
# The tolerance is never below this, and is at least TOLERANCE_MARGIN x the measured float32 error: RTNeural sums
# in another order than the numpy float32 emulation, and a margin of 4 covers that spread (same eps, same n).
MIN_TOLERANCE = 1e-5
TOLERANCE_MARGIN = 4.0
NEUTRAL_SEED = 0


def _f32(values: npt.ArrayLike) -> list[Any]:
    # float32 values as the doubles that represent them exactly, as in the model JSON.
    return np.asarray(values, dtype=np.float32).tolist()


def _evenly_spaced(rows: np.ndarray, count: int) -> tuple[np.ndarray, list[int]]:
    if count <= 0 or len(rows) == 0:
        return rows[:0], []
    picks = sorted({round(float(i)) for i in np.linspace(0, len(rows) - 1, min(count, len(rows)))})
    return rows[picks], picks


def golden_inputs(
    size: int, normalizer: FeatureNormalizer | None, sample_rows: npt.ArrayLike | None = None, count: int = 16
) -> tuple[np.ndarray, list[str]]:
    """[count, size] float32 raw inputs and one label per row (what each row is)."""
    zeros = np.zeros((1, size), np.float32)
    rows = None if sample_rows is None else np.asarray(sample_rows, dtype=np.float32).reshape(-1, size)
    if rows is not None and len(rows):
        if not np.isfinite(rows).all():
            raise ExportError("the sample rows for the golden vectors hold NaN or infinite values")
        picked, indices = _evenly_spaced(rows, count - 3)
        inputs = np.concatenate([picked, zeros, rows.min(axis=0, keepdims=True), rows.max(axis=0, keepdims=True)])
        labels = [f"row {i}" for i in indices] + ["zeros", "per-feature min of the rows", "per-feature max"]
        return inputs.astype(np.float32), labels
    offset = normalizer.offset if normalizer is not None else np.zeros(size, np.float32)
    scale = normalizer.scale if normalizer is not None else np.ones(size, np.float32)
    rng = np.random.default_rng(NEUTRAL_SEED)
    around = offset + scale * rng.normal(0.0, 1.0, (max(count - 4, 0), size))
    inputs = np.concatenate([zeros, offset[None], (offset + scale)[None], (offset - scale)[None], around])
    labels = ["zeros", "normalizer offset (normalized 0)", "offset + scale (normalized +1)"]
    labels += ["offset - scale (normalized -1)"] + [f"normal around the data, seed {NEUTRAL_SEED}"] * len(around)
    return inputs[:count].astype(np.float32), labels[:count]


def pytorch_outputs(model: LayerStack, normalizer: FeatureNormalizer | None, inputs: np.ndarray) -> np.ndarray:
    """The model's outputs for raw inputs, in float64 on its float32 weights (normalizer in float64 too)."""
    x = np.asarray(inputs, dtype=np.float64)
    if normalizer is not None:
        x = (x - normalizer.offset.astype(np.float64)) / normalizer.scale.astype(np.float64)
    import torch

    model64 = copy.deepcopy(model).cpu().eval().double()
    with torch.no_grad():
        return model64(torch.from_numpy(x)).numpy()


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above value (so tiny run-to-run differences keep the same figure)."""
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        candidate = float(f"{step * 10.0**exponent:.0e}")
        if candidate >= value:
            return candidate
    return float(f"{10.0 ** (exponent + 1):.0e}")


def golden_vectors(
    doc: dict[str, Any],
    model: LayerStack,
    normalizer: FeatureNormalizer | None,
    sample_rows: npt.ArrayLike | None = None,
    *,
    count: int = DEFAULT_GOLDEN_COUNT,
    rows_source: str | None = None,
) -> dict[str, Any]:
    """The `MODEL.io.json` document for an exported `doc` of `model`; deterministic for the same inputs."""
    load_rtneural(doc)
    in_size, out_size = int(doc["in_shape"][-1]), output_size(doc)
    inputs, labels = golden_inputs(in_size, normalizer, sample_rows, count)
    outputs = pytorch_outputs(model, normalizer, inputs).astype(np.float32)
    if outputs.shape != (len(inputs), out_size) or not np.isfinite(outputs).all():
        raise ExportError("the model gives non-finite or mis-sized outputs on the golden inputs")
    expected = outputs.astype(np.float64)
    # Two significant digits: the figures document the margin, and stay put across BLAS builds.
    err64 = float(f"{np.abs(reference_forward(doc, inputs) - expected).max():.2g}")
    err32 = float(f"{np.abs(reference_forward(doc, inputs, dtype=np.float32) - expected).max():.2g}")
    tolerance = max(MIN_TOLERANCE, _nice_ceiling(TOLERANCE_MARGIN * max(err32, err64, 1e-30)))
    metadata = doc.get("metadata") or {}
    from_rows = labels[0].startswith("row ")
    return {
        "golden_format_version": GOLDEN_FORMAT_VERSION,
        "model_key": metadata.get("model_key"),
        "weights_sha256": weights_sha256(doc["layers"]),
        "input_size": in_size,
        "output_size": out_size,
        "count": len(inputs),
        "tolerance": tolerance,
        "measured": {
            "float32_max_abs_error": err32,
            "float64_max_abs_error": err64,
            "note": "max |JSON run in float32 (numpy emulation of RTNeural) - outputs| and the same in float64; "
            f"tolerance = max({MIN_TOLERANCE:g}, {TOLERANCE_MARGIN:g} x the larger, rounded up to 1/2/5 x 10^k)",
        },
        "made_by": {
            "inputs": (
                f"{len(inputs) - 3} evenly spaced rows of {rows_source or 'the caller-provided rows'} (raw features, "
                "before normalization), all zeros, per-feature min and max of those rows"
                if from_rows
                else "no data rows: zeros, normalizer offset, offset +- scale, seeded normal rows around the data"
            ),
            "outputs": "PyTorch model in float64 on its float32 weights, normalizer in float64, rounded to float32",
            "call": "each input is one forward() call; reset() before it or not gives the same output when "
            "the model JSON's metadata.state_independent is true",
        },
        "labels": labels,
        "inputs": _f32(inputs),
        "outputs": _f32(outputs),
    }


def check_golden(doc: dict[str, Any], golden: dict[str, Any], *, stateful: bool = False) -> float:
    """Max abs error of the JSON (reference forward) on the golden inputs; ExportError beyond their tolerance."""
    load_rtneural(doc)
    if golden.get("weights_sha256") not in (None, weights_sha256(doc["layers"])):
        raise ExportError("the golden vectors were made for other weights (weights_sha256 differs)")
    inputs = np.asarray(golden["inputs"], dtype=np.float64)
    outputs = np.asarray(golden["outputs"], dtype=np.float64)
    error = float(np.abs(reference_forward(doc, inputs, stateful=stateful) - outputs).max())
    if not error <= float(golden["tolerance"]):
        raise ExportError(f"the JSON misses its golden outputs by {error:.3g} (tolerance {golden['tolerance']:g})")
    return error
