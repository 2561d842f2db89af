"""`mltrain export` and `mltrain verify`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export` and `verify`."""
    export = subparsers.add_parser("export", help="export a checkpoint to RTNeural JSON (verified against PyTorch)")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--output", type=Path, required=True, help="MODEL.json to write")
    export.add_argument("--report", type=Path, help="also write the parity report here")
    export.set_defaults(handler=run_export)

    verify = subparsers.add_parser("verify", help="check an RTNeural JSON (and its parity with a checkpoint)")
    verify.add_argument("model_json", type=Path)
    verify.add_argument("checkpoint", type=Path, nargs="?")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=run_verify)


def run_export(args: argparse.Namespace) -> int:
    """Handler of `mltrain export`."""
    from ml.export import export_checkpoint

    report = export_checkpoint(args.checkpoint, args.output, args.report)
    print(f"{report.model_key}: wrote {args.output} (max abs error vs PyTorch {report.max_abs_error:.3g})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Handler of `mltrain verify`: document checks, a reference run, and parity when a checkpoint is given."""
    from ml.checkpoint import load_checkpoint, model_from_checkpoint
    from ml.errors import ExportError
    from ml.export import load_rtneural, reference_forward, verify_rtneural
    from ml.export.verify import parity_inputs

    doc = load_rtneural(args.model_json)
    metadata = doc.get("metadata") or {}
    size = doc["in_shape"][-1]
    outputs = reference_forward(doc, parity_inputs(size, None, 256, seed=0))
    if not np.isfinite(outputs).all():
        raise ExportError(f"{args.model_json}: the model produces non-finite outputs")
    report: dict[str, object] = {
        "model_key": metadata.get("model_key"),
        "layers": [layer["type"] for layer in doc["layers"]],
        "input_size": size,
        "output_size": int(outputs.shape[1]),
        "output_range": [float(outputs.min()), float(outputs.max())],
        "reset_each_call": metadata.get("reset_each_call"),
    }
    if args.checkpoint is not None:
        state = load_checkpoint(args.checkpoint, expected_model=metadata.get("model_key"))
        model, normalizer = model_from_checkpoint(state)
        report["parity"] = verify_rtneural(doc, model, normalizer).to_dict()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        parity = report.get("parity")
        detail = f", max abs error vs checkpoint {parity['max_abs_error']:.3g}" if isinstance(parity, dict) else ""
        print(
            f"{args.model_json}: valid RTNeural model {report['model_key']} {size} -> {report['output_size']}{detail}"
        )
    return 0
