"""Parity: the exported JSON, run by the independent reference, against the PyTorch model it came from."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.checkpoint import load_checkpoint, model_from_checkpoint
from ml.errors import ExportError
from ml.export.document import load_rtneural, output_size
from ml.export.files import write_export
from ml.export.reference import reference_forward
from ml.export.rtneural import export_rtneural
from ml.export.state import state_independent
from ml.io import write_json_atomic
from ml.models import LayerStack
from ml.normalize import FeatureNormalizer

DEFAULT_TOLERANCE = 1e-5


@dataclass
class ParityReport:
    """How closely the JSON (via the reference forward) reproduces PyTorch."""

    model_key: str
    n_inputs: int
    max_abs_error: float
    mean_abs_error: float
    tolerance: float
    passed: bool
    reference: str = "numpy-rtneural"
    weights_sha256: str | None = None
    float32_max_abs_error: float | None = None  # against PyTorch run in float32, as the plugin runs
    # The same inputs as consecutive forward() calls without reset() (state carried), against PyTorch float64.
    stateful_max_abs_error: float | None = None
    state_independent: bool | None = None  # no recurrent layer reads carried state (ml/export/state.py)
    files: list[str] = field(default_factory=list)  # what was written: MODEL.json, MODEL.io.json, MODEL.modelt.h

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def parity_inputs(size: int, normalizer: FeatureNormalizer | None, n_inputs: int, seed: int) -> np.ndarray:
    """Raw inputs spanning the training distribution (from the normalizer) plus the unit cube."""
    rng = np.random.default_rng(seed)
    half = n_inputs // 2
    offset = normalizer.offset if normalizer is not None else np.zeros(size, np.float32)
    scale = normalizer.scale if normalizer is not None else np.ones(size, np.float32)
    around_data = offset + scale * rng.normal(0.0, 1.5, size=(half, size))
    cube = rng.uniform(-1.0, 1.0, size=(n_inputs - half, size))
    return np.concatenate([around_data, cube]).astype(np.float32)


def verify_rtneural(
    doc: dict[str, Any],
    model: LayerStack,
    normalizer: FeatureNormalizer | None,
    *,
    n_inputs: int = 256,
    seed: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ParityReport:
    """Compare reference_forward(doc, x) with model(normalize(x)); raise ExportError beyond `tolerance`."""
    load_rtneural(doc)
    doc_in, doc_out = doc["in_shape"][-1], output_size(doc)
    if (doc_in, doc_out) != (model.input_size, model.output_size):
        raise ExportError(
            f"the JSON maps {doc_in} -> {doc_out} but the model maps {model.input_size} -> {model.output_size}"
        )
    x = parity_inputs(model.input_size, normalizer, n_inputs, seed)
    normalized = normalizer.transform(x) if normalizer is not None else x
    # Compare in float64 on both sides (same float32 weights, upcast) so the figure measures the export itself,
    # not float32 summation order; the float32 PyTorch difference is reported beside it. Both run on CPU copies,
    # so the caller's model keeps its device and train/eval mode.
    model32 = copy.deepcopy(model).cpu().eval()
    model64 = copy.deepcopy(model32).double()
    with torch.no_grad():
        expected = model64(torch.from_numpy(normalized.astype(np.float64))).numpy()
        expected32 = model32(torch.from_numpy(normalized)).double().numpy()
    actual = reference_forward(doc, x)
    error = np.abs(actual - expected)
    stateful_error = np.abs(reference_forward(doc, x, stateful=True) - expected)
    if not (np.isfinite(error).all() and np.isfinite(stateful_error).all()):
        raise ExportError(f"{model.key or 'custom'}: non-finite outputs in the parity check")
    independent = state_independent(doc)
    report = ParityReport(
        model_key=model.key or "custom",
        n_inputs=n_inputs,
        max_abs_error=float(error.max()),
        mean_abs_error=float(error.mean()),
        tolerance=tolerance,
        passed=bool(error.max() <= tolerance),
        weights_sha256=(doc.get("metadata") or {}).get("weights_sha256"),
        float32_max_abs_error=float(np.abs(actual - expected32).max()),
        stateful_max_abs_error=float(stateful_error.max()),
        state_independent=independent,
    )
    claimed = (doc.get("metadata") or {}).get("state_independent")
    if claimed is not None and claimed != independent:
        raise ExportError(
            f"{report.model_key}: metadata.state_independent is {claimed} but the layers say {independent}"
        )
    if independent and report.stateful_max_abs_error is not None and report.stateful_max_abs_error > tolerance:
        raise ExportError(
            f"{report.model_key}: without reset() the JSON differs from PyTorch by {report.stateful_max_abs_error:.3g} "
            "although its recurrent layers should ignore carried state"
        )
    if not report.passed:
        raise ExportError(
            f"{report.model_key}: exported JSON differs from PyTorch by {report.max_abs_error:.3g} "
            f"(tolerance {tolerance:g}); RTNeural would not compute what PyTorch computes"
        )
    return report


def export_checkpoint(checkpoint_path: Path, output_path: Path, report_path: Path | None = None) -> ParityReport:
    """Load a checkpoint, export it, verify parity, then write the JSON, its .io.json and .modelt.h (and report)."""
    state = load_checkpoint(checkpoint_path)
    model, normalizer = model_from_checkpoint(state)
    extra = {name: state[name] for name in ("epoch", "best_epoch") if isinstance(state.get(name), int)}
    doc = export_rtneural(model, normalizer, run_id=state.get("run_id"), extra_metadata=extra)
    report = verify_rtneural(doc, model, normalizer)
    # A checkpoint holds no data rows, so the golden vectors use the documented neutral inputs.
    report.files = write_export(doc, model, normalizer, output_path).names()
    if report_path is not None:
        write_json_atomic(report_path, {report.model_key: report.to_dict()})
    return report
