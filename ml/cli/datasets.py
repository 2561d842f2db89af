"""`mltrain datasets validate | example | prepare | download-info | formats | features`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ml.cli.train import HYPERPARAMETER_FLAGS
from ml.errors import DataError
from ml.models import MODEL_KEYS

if TYPE_CHECKING:
    from ml.data import ScanProgress


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `datasets` and its subcommands."""
    datasets = subparsers.add_parser("datasets", help="validate, unpack and describe data sets")
    commands = datasets.add_subparsers(dest="datasets_command", required=True)
    validate = commands.add_parser("validate", help="report files found, usable and skipped (with reasons)")
    validate.add_argument("folder", type=Path)
    validate.add_argument("--format", help="detected when omitted")
    validate.add_argument("--model", choices=MODEL_KEYS, help="also list the model's uninformative columns")
    validate.add_argument("--workers", type=int, help="processes that parse files (default: every core)")
    validate.add_argument(
        "--cache-dir", type=Path, help="cache of per-file outcomes (default: <folder>/.mltrain-cache; 'none': off)"
    )
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=run_validate)
    example = commands.add_parser(
        "example", help="write a small real-format data set for every model (generated here, about 2 MB)"
    )
    example.add_argument("folder", type=Path, help="folder to write (created; must be empty if it exists)")
    example.set_defaults(handler=run_example)
    prepare = commands.add_parser("prepare", help="unpack a downloaded archive safely into a new folder")
    prepare.add_argument("archive", type=Path)
    prepare.add_argument("--output", type=Path, required=True)
    prepare.add_argument("--format", help="validate the result as this format")
    prepare.set_defaults(handler=run_prepare)
    info = commands.add_parser("download-info", help="where to get each data set and the layout expected")
    info.add_argument("format", nargs="?")
    info.set_defaults(handler=run_download_info)
    commands.add_parser("formats", help="list formats and the models they feed").set_defaults(handler=run_formats)
    features = commands.add_parser("features", help="write the exact rows the trainer would use to an .npz")
    features.add_argument("folder", type=Path)
    features.add_argument("--model", required=True, choices=MODEL_KEYS)
    features.add_argument("--format", help="detected when omitted")
    features.add_argument("--output", type=Path, required=True, help="rows.npz to write")
    features.add_argument("--labels-file", type=Path, help="emotion labels for unlabelled sets")
    features.add_argument("--cache-dir", type=Path, help="feature cache folder (default: <folder>/.mltrain-cache)")
    for name in ("seed", "val_split", "test_split", "lookahead_seconds"):
        features.add_argument(f"--{name.replace('_', '-')}", type=HYPERPARAMETER_FLAGS[name][0], default=None,
                              help=HYPERPARAMETER_FLAGS[name][1])  # fmt: skip
    features.add_argument("--json", action="store_true")
    features.set_defaults(handler=run_features)


def run_validate(args: argparse.Namespace) -> int:
    """Handler of `datasets validate`: exit 0 if some file is usable, 1 if none."""
    from ml.data import ScanOptions, validate_dataset
    from ml.data.scan import default_workers

    if args.workers is not None and args.workers < 1:
        raise DataError("--workers must be at least 1")
    cache = None if str(args.cache_dir) == "none" else args.cache_dir or Path(args.folder) / ".mltrain-cache"
    progress = ScanLine(sys.stderr) if sys.stderr.isatty() and not args.json else None
    options = ScanOptions(cache_dir=cache, workers=args.workers or default_workers(), progress=progress)
    report = validate_dataset(args.folder, args.format, options)
    if progress is not None:
        progress.done()
    columns = _columns_of(args) if args.model and report.ok else None
    if args.json:
        print(json.dumps({**report.to_dict(), **({"columns": columns} if columns else {})}, indent=2))
    else:
        print(f"{args.folder}: format {report.format} (feeds {', '.join(report.models)})")
        print(f"  files found {report.files_found}, usable {report.usable}, skipped {len(report.skipped)}")
        for skipped in report.skipped:
            print(f"  skipped {skipped.path}: {skipped.reason}")
        for name, (low, high) in report.label_ranges.items():
            print(f"  {name} range {low:.3g} .. {high:.3g}")
        if report.duration_seconds:
            d = report.duration_seconds
            total, low, high = d.get("total", 0.0), d.get("min", 0.0), d.get("max", 0.0)
            print(f"  duration total {total:.1f} s (min {low:.1f} s, max {high:.1f} s)")
        for warning in report.warnings:
            print(f"  warning: {warning}")
        if columns:
            _print_columns(columns)
    return 0 if report.ok else 1


class ScanLine:
    """A one-line scan progress on a terminal, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.last, self.drawn = stream, 0.0, False

    def __call__(self, progress: ScanProgress) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and progress.files_seen < progress.files_total:
            return
        self.last, self.drawn = now, True
        self.stream.write(
            f"\r  checked {progress.files_seen}/{progress.files_total} files: "
            f"{progress.usable} usable, {progress.skipped} skipped   "
        )
        self.stream.flush()

    def done(self) -> None:
        """End the line."""
        if self.drawn:
            self.stream.write("\n")


def run_example(args: argparse.Namespace) -> int:
    """Handler of `datasets example`: write the bundled example and say what to try next."""
    from ml.data.example import write_example

    written = write_example(args.folder)
    total = sum(s.size_bytes for s in written)
    print(f"wrote {len(written)} data sets ({total / 1e6:.1f} MB) to {args.folder}:")
    for item in written:
        print(f"  {item.folder + '/':9} {item.format:12} -> {item.model:19} {item.files:3} files  {item.description}")
    print(f"next: mltrain train --model all --datasets-dir {args.folder} --output runs/example --epochs 30")
    return 0


def _columns_of(args: argparse.Namespace) -> dict[str, Any]:
    """Constant and near-constant input/target columns of the model's rows on this folder."""
    from ml.config import TrainConfig
    from ml.pipeline import DataSource, load_training_data
    from ml.scoring import column_report

    source = DataSource(datasets_dir=args.folder, format=args.format, cache_dir=Path(args.folder) / ".mltrain-cache")
    dataset = load_training_data(args.model, source, TrainConfig())
    return {"inputs": column_report(dataset.inputs), "targets": column_report(dataset.targets)}


def run_prepare(args: argparse.Namespace) -> int:
    """Handler of `datasets prepare`."""
    from ml.data import validate_dataset
    from ml.data.prepare import prepare_archive

    report = prepare_archive(args.archive, args.output)
    print(f"unpacked {report.files} files ({report.bytes} bytes) into {report.destination}")
    if args.format:
        validation = validate_dataset(args.output, args.format)
        print(f"  {validation.usable} usable files as {validation.format}")
    return 0


def run_download_info(args: argparse.Namespace) -> int:
    """Handler of `datasets download-info`."""
    from ml.data import FORMATS, get_format

    for fmt in [get_format(args.format)] if args.format else FORMATS.values():
        print(f"== {fmt.name} (feeds {', '.join(fmt.models)})\n{fmt.download_info}\n")
    return 0


def run_formats(args: argparse.Namespace) -> int:
    """Handler of `datasets formats`."""
    from ml.data import FORMATS

    for fmt in FORMATS.values():
        print(f"{fmt.name:16} {', '.join(fmt.models):40} {fmt.description}")
    return 0


def run_features(args: argparse.Namespace) -> int:
    """Handler of `datasets features`: the trainer's rows, groups and split labels as an .npz."""
    from ml.config import TrainConfig
    from ml.pipeline import DataSource
    from ml.rows import feature_rows, write_rows

    values = {k: getattr(args, k) for k in ("seed", "val_split", "test_split", "lookahead_seconds")}
    config = TrainConfig.from_dict({k: v for k, v in values.items() if v is not None})
    source = DataSource(
        datasets_dir=args.folder,
        format=args.format,
        cache_dir=args.cache_dir or Path(args.folder) / ".mltrain-cache",
        labels_file=args.labels_file,
    )
    summary = write_rows(*feature_rows(args.model, source, config), args.output)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    splits = summary["splits"]
    print(f"wrote {summary['output']}: {summary['rows']} rows from {summary['groups']} groups ({summary['source']})")
    print(f"  split ({splits['source']}): train {splits['train']}, validation {splits['validation']}, "
          f"test {splits['test']}")  # fmt: skip
    _print_columns(summary["columns"])
    return 0


def _print_columns(columns: dict[str, Any]) -> None:
    for side, report in columns.items():
        for kind in ("constant", "near_constant"):
            if report[kind]:
                print(f"  {side} {kind.replace('_', '-')} on this data (carry nothing): {report[kind]}")
