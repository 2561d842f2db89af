"""EMOPIA (Hung et al., ISMIR 2021): pop-piano clips with a Russell-quadrant label -> melody_transformer.

Published layout (EMOPIA_1.0 / EMOPIA_2.x): `midis/Q{n}_{youtube id}_{clip}.mid` and `label.csv` with header
`ID,4Q,annotator`, where ID is the file stem (`Q1__8v0MFBZoco_0`; YouTube ids may start with `_` or `-`, so
the stem is split from the right: the last `_` separates the clip number). Rows whose ID lacks the `Q{n}_`
prefix are matched too. Quadrant -> (valence, arousal) by `emotion.quadrant_to_valence_arousal` (centre of
the quadrant, +/-0.5). Clips of one song (one YouTube id) share a group, so a seeded split never leaks a song.
A file with no label row, a label outside 1..4, or a label that contradicts the `Q{n}` prefix is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import Item, csv_header, finish_scan, load_items, midi_files, new_report, read_csv_rows
from ml.dataset import ArrayDataset
from ml.emotion import quadrant_to_valence_arousal

NAME = "emopia"
MODELS = ("melody_transformer",)
_STEM = re.compile(r"^Q([1-4])_(.+)_(\d+)$")


def detect(root: Path) -> bool:
    """label.csv with ID and 4Q columns beside a midis/ folder."""
    return (root / "midis").is_dir() and {"ID", "4Q"} <= set(csv_header(root / "label.csv"))


def _items(root: Path) -> tuple[list[Item], ValidationReport]:
    report = new_report(NAME, root, MODELS)
    labels: dict[str, str] = {}
    for row in read_csv_rows(root / "label.csv"):
        ident = row.get("ID", "")
        labels[ident] = row.get("4Q", "")
    files = midi_files(root / "midis", "*")
    report.files_found = len(files)
    items = []
    for path in files:
        name = f"midis/{path.name}"
        match = _STEM.match(path.stem)
        if not match:
            report.skip(name, "file name is not Q{n}_{id}_{clip}")
            continue
        raw = labels.get(path.stem, labels.get(f"{match.group(2)}_{match.group(3)}"))
        if raw is None:
            report.skip(name, "label missing (no row in label.csv)")
            continue
        try:
            quadrant = int(float(raw))
            valence, arousal = quadrant_to_valence_arousal(quadrant)
        except ValueError:
            report.skip(name, f"label out of range (4Q={raw!r}, want 1..4)")
            continue
        if quadrant != int(match.group(1)):
            report.skip(name, f"label conflict (label.csv says Q{quadrant}, file name says Q{match.group(1)})")
            continue
        items.append(Item(path, group=match.group(2), valence=valence, arousal=arousal))
    return items, report


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate labels and every MIDI file."""
    items, report = _items(root)
    return finish_scan(report, items, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Note-probability targets per 4-bar segment, emotion from the clip's quadrant."""
    items, report = _items(root)
    return load_items(NAME, root, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="EMOPIA pop-piano clips with quadrant labels (midis/ + label.csv)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="EMOPIA: https://zenodo.org/record/5090631 - unzip EMOPIA_1.0; point at the folder holding "
    "label.csv and midis/ (Q{n}_{youtube id}_{clip}.mid).",
)
