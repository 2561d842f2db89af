"""`mltrain export` and `mltrain verify`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

STATE_DEPENDENT = "recurrent layers depend on state: call reset() before every forward"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export` and `verify`."""
    export = subparsers.add_parser("export", help="export a checkpoint to RTNeural JSON (verified against PyTorch)")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--output", type=Path, required=True, help="MODEL.json to write")
    export.add_argument("--report", type=Path, help="also write the parity report here (export_report.json)")
    export.add_argument("--json", action="store_true", help="print the parity report as JSON")
    export.set_defaults(handler=run_export)

    verify = subparsers.add_parser(
        "verify", help="check an RTNeural JSON as the plugin would load it (and its parity with a checkpoint)"
    )
    verify.add_argument("model_json", type=Path)
    verify.add_argument("checkpoint", type=Path, nargs="?", help="compare with this checkpoint's PyTorch model")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=run_verify)


def run_export(args: argparse.Namespace) -> int:
    """Handler of `mltrain export`: nothing is written unless parity holds."""
    # Imported here so `mltrain --help` and the service commands never pay for torch.
    from ml.export import export_checkpoint

    report = export_checkpoint(args.checkpoint, args.output, args.report)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(
            f"{report.model_key}: wrote {args.output} with {' and '.join(report.files[1:])} (max abs error vs "
            f"PyTorch {report.max_abs_error:.3g}, tolerance {report.tolerance:g}, {report.n_inputs} inputs)"
        )
        if report.state_independent is False:
            print(STATE_DEPENDENT)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Handler of `mltrain verify`: document checks, a reference run, and parity when a checkpoint is given."""
    from ml.checkpoint import load_checkpoint, model_from_checkpoint
    from ml.export import check_document, check_golden, export_paths, load_rtneural, read_golden, verify_rtneural

    doc = load_rtneural(args.model_json)
    document = check_document(doc)
    report: dict[str, Any] = document.to_dict()
    # A file whose recurrent layers read carried state still loads and computes right, provided the plugin resets.
    report["warnings"] = [] if document.state_independent else [STATE_DEPENDENT]
    golden_path = export_paths(args.model_json).golden
    if golden_path.is_file():
        golden = read_golden(golden_path)
        report["golden"] = {
            "file": golden_path.name,
            "max_abs_error": check_golden(doc, golden),
            "tolerance": golden["tolerance"],
            "count": golden["count"],
        }
    if args.checkpoint is not None:
        state = load_checkpoint(args.checkpoint, expected_model=document.model_key)
        model, normalizer = model_from_checkpoint(state)
        report["parity"] = verify_rtneural(doc, model, normalizer).to_dict()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    summary = (
        f"{args.model_json}: valid RTNeural model {document.model_key or '(no model_key)'} "
        f"{document.input_size} -> {document.output_size} ({', '.join(document.layers)}), outputs in "
        f"[{document.output_min:.4g}, {document.output_max:.4g}] on {document.n_inputs} probe inputs"
    )
    parity = report.get("parity")
    if parity is not None:
        summary += (
            f"; max abs error vs {args.checkpoint} {parity['max_abs_error']:.3g} (tolerance {parity['tolerance']:g})"
        )
    golden_report = report.get("golden")
    if golden_report is not None:
        summary += (
            f"; {golden_report['file']}: {golden_report['count']} golden vectors within "
            f"{golden_report['max_abs_error']:.3g} (tolerance {golden_report['tolerance']:g})"
        )
    print(summary)
    for warning in report["warnings"]:
        print(warning)
    return 0
