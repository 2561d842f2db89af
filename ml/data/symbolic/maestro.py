"""MAESTRO v3 (Hawthorne et al., ICLR 2019): virtuoso piano performances -> dynamics_engine.

Published layout: `maestro-v3.0.0.csv` (also accepted: any `maestro-v*.csv`) with columns
`canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration`; `midi_filename` is
relative to the root, in year folders (`2004/MIDI-Unprocessed_..._wav--1.midi`, `.midi` suffix). Its
train/validation/test split is honoured (it keeps every composition in one split). One group per performance.
Rows whose file is missing, whose split is unknown, or that repeat a file are skipped with a reason.
"""

from __future__ import annotations

from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import Item, csv_header, dedupe, finish_scan, load_items, new_report, read_csv_rows
from ml.dataset import SPLITS, ArrayDataset
from ml.errors import DataError

NAME = "maestro"
MODELS = ("dynamics_engine",)
_COLUMNS = {"canonical_composer", "canonical_title", "split", "midi_filename"}


def _csv(root: Path) -> Path | None:
    preferred = root / "maestro-v3.0.0.csv"
    if preferred.is_file():
        return preferred
    found = sorted(root.glob("maestro-v*.csv"))
    return found[-1] if found else None


def detect(root: Path) -> bool:
    """A maestro-v*.csv with MAESTRO's columns at the root."""
    path = _csv(root)
    return path is not None and set(csv_header(path)) >= _COLUMNS


def _items(root: Path) -> tuple[list[Item], ValidationReport]:
    report = new_report(NAME, root, MODELS)
    path = _csv(root)
    if path is None:
        raise DataError(f"{root}: no maestro-v3.0.0.csv")
    rows = read_csv_rows(path)
    report.files_found = len(rows)
    items = []
    for row in rows:
        name = row.get("midi_filename", "")
        split = row.get("split", "")
        if not name or not (root / name).is_file():
            report.skip(name or f"{path.name}: row without midi_filename", "file missing")
            continue
        if split not in SPLITS:
            report.skip(name, f"unknown split {split!r}")
            continue
        items.append(Item(root / name, group=name, split=split))
    return dedupe(items, root, report), report


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every listed performance."""
    items, report = _items(root)
    return finish_scan(report, items, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Per-note performance context -> expression rows, with MAESTRO's split."""
    items, report = _items(root)
    return load_items(NAME, root, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="MAESTRO v3 piano performances (maestro-v3.0.0.csv + year folders of .midi)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="MAESTRO v3.0.0 MIDI-only zip: https://magenta.tensorflow.org/datasets/maestro - unzip; point at "
    "maestro-v3.0.0/ (the folder holding maestro-v3.0.0.csv and the year folders).",
)
