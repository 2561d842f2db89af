"""Checks of a model JSON on its own (no checkpoint): what `mltrain verify MODEL.json` runs.

Beyond `load_rtneural`: the weights hash and sizes in the metadata must agree with the layers (an edited or
mixed-up file is caught), a known model key must have that model's input and output sizes, and the reference
forward pass on seeded inputs must give finite outputs inside the range of the final activation, both with a
reset before every call and with state carried from call to call (how a plugin that never resets runs it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ml.errors import ExportError
from ml.export.document import final_activation, load_rtneural, output_size, weights_sha256
from ml.export.reference import reference_forward
from ml.export.state import recurrent_layers, state_independent
from ml.models import MODELS

# (low, high) of each final activation; softmax rows must also sum to one.
OUTPUT_RANGES: dict[str, tuple[float, float]] = {
    "tanh": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "softmax": (0.0, 1.0),
    "relu": (0.0, float("inf")),
    "elu": (-1.0, float("inf")),
    "": (float("-inf"), float("inf")),
}


@dataclass
class DocumentReport:
    """What the stand-alone checks of a model JSON found."""

    model_key: str | None
    layers: list[str]
    input_size: int
    output_size: int
    final_activation: str
    n_inputs: int
    output_min: float
    output_max: float
    reset_each_call: bool | None
    weights_sha256: str
    # Recurrent layers that ignore carried state (True without any); the reset-vs-carried max difference.
    state_independent: bool = True
    stateful_max_abs_difference: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def probe_inputs(size: int, n_inputs: int, seed: int) -> np.ndarray:
    """Seeded raw inputs: the unit cube, a wide normal, and a few large-magnitude rows to expose overflow."""
    rng = np.random.default_rng(seed)
    third = max(n_inputs // 3, 1)
    rows = [
        rng.uniform(-1.0, 1.0, (third, size)),
        rng.normal(0.0, 3.0, (third, size)),
        rng.uniform(-100.0, 100.0, (max(n_inputs - 2 * third, 1), size)),
    ]
    return np.concatenate(rows)[:n_inputs]


def check_document(doc: dict[str, Any], *, n_inputs: int = 256, seed: int = 0) -> DocumentReport:
    """Validate `doc` as RTNeural would, check its metadata, and run the reference forward; ExportError on a fault."""
    load_rtneural(doc)
    in_size, out_size = int(doc["in_shape"][-1]), output_size(doc)
    raw_metadata = doc.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    digest = weights_sha256(doc["layers"])
    claimed = metadata.get("weights_sha256")
    if claimed is not None and claimed != digest:
        raise ExportError("the weights do not match metadata.weights_sha256: the file was edited or corrupted")
    for name, actual in (("input_size", in_size), ("output_size", out_size)):
        if metadata.get(name) is not None and metadata[name] != actual:
            raise ExportError(f"metadata.{name} is {metadata[name]} but the layers give {actual}")
    key = metadata.get("model_key")
    if key is not None:
        spec = MODELS.get(key)
        if spec is None:
            raise ExportError(f"metadata.model_key {key!r} is not one of the plugin's models")
        if (spec.input_size, spec.output_size) != (in_size, out_size):
            raise ExportError(
                f"{key} must map {spec.input_size} -> {spec.output_size}, this file maps {in_size} -> {out_size}"
            )
    activation = final_activation(doc)
    probes = probe_inputs(in_size, n_inputs, seed)
    reset = reference_forward(doc, probes)
    carried = reference_forward(doc, probes, stateful=True) if recurrent_layers(doc) else reset
    independent = state_independent(doc)
    claimed = metadata.get("state_independent")
    if claimed is not None and claimed != independent:
        raise ExportError(f"metadata.state_independent is {claimed} but the recurrent layers say {independent}")
    outputs = np.concatenate([reset, carried])
    if not np.isfinite(outputs).all():
        raise ExportError("the model produces non-finite outputs on the probe inputs")
    difference = float(np.abs(carried - reset).max())
    # Both runs compute the input projections identically, so a state-independent model differs by exactly 0.
    if independent and difference != 0.0:
        raise ExportError(f"the recurrent layers should ignore carried state but outputs move by {difference:.3g}")
    low, high = OUTPUT_RANGES[activation]
    # float64 rounding can put a saturated sigmoid/tanh a hair outside its range; 1e-9 is far below any real fault.
    if outputs.min() < low - 1e-9 or outputs.max() > high + 1e-9:
        raise ExportError(
            f"outputs span [{outputs.min():.6g}, {outputs.max():.6g}], outside {activation or 'linear'}'s "
            f"range [{low}, {high}]"
        )
    if activation == "softmax" and not np.allclose(outputs.sum(axis=1), 1.0, atol=1e-9):
        raise ExportError("softmax outputs do not sum to one")
    return DocumentReport(
        model_key=key,
        layers=[layer["type"] for layer in doc["layers"]],
        input_size=in_size,
        output_size=out_size,
        final_activation=activation,
        n_inputs=int(reset.shape[0]),
        output_min=float(outputs.min()),
        output_max=float(outputs.max()),
        reset_each_call=metadata.get("reset_each_call"),
        weights_sha256=digest,
        state_independent=independent,
        stateful_max_abs_difference=difference,
    )
