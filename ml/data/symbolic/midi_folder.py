"""Any folder of .mid/.midi performances -> dynamics_engine (the fallback MIDI format).

Every MIDI file under the folder (recursively) is one group; there is no published split, so the trainer's
seeded split by group applies. Detected last: any folder that holds MIDI files and matches no other format.
"""

from __future__ import annotations

from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import Item, finish_scan, load_items, midi_files, new_report, rel
from ml.data.symbolic.midi import is_midi
from ml.dataset import ArrayDataset

NAME = "midi-folder"
MODELS = ("dynamics_engine",)


def detect(root: Path) -> bool:
    """At least one MIDI file in the folder or one level below (cheap)."""
    return any(any(is_midi(p) for p in root.glob(pattern)) for pattern in ("*", "*/*"))


def _items(root: Path) -> tuple[list[Item], ValidationReport]:
    report = new_report(NAME, root, MODELS)
    files = midi_files(root)
    report.files_found = len(files)
    return [Item(path, group=rel(path, root)) for path in files], report


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every MIDI file."""
    items, report = _items(root)
    return finish_scan(report, items, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Per-note performance context -> expression rows."""
    items, _report = _items(root)
    return load_items(NAME, root, model_key, options, items, None)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="any folder of .mid/.midi performances (seeded split by file)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="Your own performances: a folder (recursive) of .mid/.midi files recorded from a keyboard.",
)
