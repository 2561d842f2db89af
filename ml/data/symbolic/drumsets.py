"""Shared reading of the two drum data sets' CSVs (Groove MIDI and E-GMD) -> groove_predictor items."""

from __future__ import annotations

from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import (
    Item,
    apply_labels,
    finish_scan,
    load_items,
    new_report,
    read_csv_rows,
    read_labels_file,
    rel,
)
from ml.data.symbolic.groove import style_emotion
from ml.dataset import SPLITS, ArrayDataset

MODELS = ("groove_predictor",)


def drum_items(name: str, base: Path, csv_path: Path, *, one_per_id: bool) -> tuple[list[Item], ValidationReport]:
    """Items from a GMD/E-GMD metadata CSV; `one_per_id` keeps one file per performance id (E-GMD kits)."""
    report = new_report(name, base, MODELS)
    rows = read_csv_rows(csv_path)
    report.files_found = len(rows)
    items: list[Item] = []
    seen_files: set[str] = set()
    seen_ids: set[str] = set()
    for row in rows:
        midi = row.get("midi_filename", "")
        split = row.get("split", "")
        ident = row.get("id", "") or midi
        if not midi or not (base / midi).is_file():
            report.skip(midi or f"{csv_path.name}: row without midi_filename", "file missing")
            continue
        if split not in SPLITS:
            report.skip(midi, f"unknown split {split!r}")
            continue
        if midi in seen_files:
            report.skip(midi, "duplicate")
            continue
        seen_files.add(midi)
        if one_per_id and ident in seen_ids:
            report.skip(midi, "duplicate (same performance as another kit's file)")
            continue
        seen_ids.add(ident)
        items.append(Item(base / midi, group=ident, split=split, style=row.get("style", "")))
    return items, report


def scan_drums(
    items: list[Item], report: ValidationReport, base: Path, options: ScanOptions = NO_SCAN_OPTIONS
) -> ValidationReport:
    """Parse every item; a file needs at least one 2-bar segment with 4+ mapped drum hits."""
    unknown = sorted({item.style or "" for item in items if style_emotion(item.style) is None})
    if unknown:
        report.warnings.append(
            f"styles not in the style table (their files need a --labels-file entry): {', '.join(map(repr, unknown))}"
        )
    return finish_scan(report, items, base, options, drums=True)


def load_drums(
    name: str, base: Path, model_key: str, options: LoadOptions, items: list[Item], report: ValidationReport
) -> ArrayDataset:
    """Groove rows; emotion from options.labels_file if given (files without a label skipped), else the style
    prior (`ml.data.symbolic.groove.style_emotion`; files of a style not in the table skipped, with the fix)."""
    if options.labels_file is not None:
        items = apply_labels(items, read_labels_file(options.labels_file), base, report)
    else:
        items = [item for item in items if _style_label(item, base, report)]
    return load_items(name, base, model_key, options, items, report)


def _style_label(item: Item, base: Path, report: ValidationReport) -> bool:
    """Give `item` its style's (valence, arousal); False (and a skip with the reason) if the style is unknown."""
    found = style_emotion(item.style)
    if found is None:
        report.skip(
            rel(item.path, base),
            f"no emotion: style {item.style!r} is not in the style table and no --labels-file was given",
        )
        return False
    item.valence, item.arousal = found
    return True
