"""A folder of MIDI files plus `emotion_labels.json` `{filename: {"valence": v, "arousal": a}}` -> melody_transformer.

Keys may be a file's path relative to the folder, its name, or its stem. Values in [-1, 1] (lenient keys:
valence/v/Valence, arousal/a/Arousal; or a [v, a] pair). Files without a label, labels out of range and
labels naming a missing file are reported (a missing file counts as found, then skipped).
One group per file; no published split.
"""

from __future__ import annotations

from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import (
    Item,
    apply_labels,
    finish_scan,
    load_items,
    midi_files,
    new_report,
    read_labels_file,
    rel,
)
from ml.dataset import ArrayDataset

NAME = "midi-labels"
MODELS = ("melody_transformer",)
LABELS_NAME = "emotion_labels.json"


def detect(root: Path) -> bool:
    """emotion_labels.json at the root."""
    return (root / LABELS_NAME).is_file()


def _items(root: Path) -> tuple[list[Item], ValidationReport]:
    report = new_report(NAME, root, MODELS)
    labels = read_labels_file(root / LABELS_NAME)
    files = midi_files(root)
    report.files_found = len(files)
    known = {key for path in files for key in (rel(path, root), path.name, path.stem)}
    for key in sorted(labels):
        if key not in known:
            report.skip(key, "file missing (labelled in emotion_labels.json)")
            report.files_found += 1
    items = [Item(path, group=rel(path, root)) for path in files]
    return apply_labels(items, labels, root, report), report


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate labels and every MIDI file."""
    items, report = _items(root)
    return finish_scan(report, items, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Note-probability targets per 4-bar segment, emotion from emotion_labels.json."""
    items, report = _items(root)
    return load_items(NAME, root, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="folder of MIDI files + emotion_labels.json {filename: {valence, arousal}}",
    detect=detect,
    scan=scan,
    load=load,
    download_info="Your own MIDI files: put them in one folder with emotion_labels.json mapping each file name "
    'to {"valence": v, "arousal": a} in [-1, 1].',
)
