"""`mltrain bundle`: the plugin bundle zip of a local training folder, or of a server's job."""

from __future__ import annotations

import argparse
import time
import zipfile
from pathlib import Path

from ml.errors import MltrainError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `bundle`."""
    bundle = subparsers.add_parser(
        "bundle", help="zip the exported models, golden vectors, ModelT headers and C++ front end for the plugin"
    )
    source = bundle.add_mutually_exclusive_group(required=True)
    source.add_argument("job_dir", type=Path, nargs="?", help="a training folder (the output of `mltrain train`)")
    source.add_argument(
        "--job", metavar="ID", help="download job ID's bundle from the server (MLTRAIN_URL, MLTRAIN_TOKEN)"
    )
    bundle.add_argument("--output", type=Path, default=Path("plugin-models.zip"), help="zip to write")
    bundle.set_defaults(handler=run_bundle)


def run_bundle(args: argparse.Namespace) -> int:
    """Handler of `mltrain bundle`: every model is checked against its golden vectors before anything is written."""
    # numpy only: the bundle code never imports torch, and it is imported here so `mltrain --help` stays fast.
    from ml.export.bundle import BundleError, build_bundle, read_manifest

    started = time.perf_counter()
    if args.job is None:
        bundle = build_bundle(args.job_dir, args.output)
        keys, size = bundle.model_keys, bundle.size
    else:
        try:
            from app.cli import _request
        except ModuleNotFoundError:
            raise BundleError("--job needs the service client (the app package); use a JOB_DIR instead") from None
        try:
            response = _request("GET", f"/jobs/{args.job}/bundle")
        except MltrainError as exc:  # one line, exit 1, as for a local folder
            raise BundleError(str(exc)) from None
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(response.content)
        try:
            keys, size = list(read_manifest(args.output)["models"]), args.output.stat().st_size
        except (zipfile.BadZipFile, KeyError, ValueError):
            raise BundleError(f"the server's answer for job {args.job} is not a plugin bundle") from None
    print(
        f"wrote {args.output}: {len(keys)} models ({', '.join(keys)}), {size / 1e6:.1f} MB, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0
