"""Groove MIDI Dataset (Gillick et al., ICML 2019): drummers on a Roland TD-11 -> groove_predictor.

Published layout: `groove/info.csv` with columns `drummer,session,id,style,bpm,beat_type,time_signature,
midi_filename,audio_filename,duration,split`; `midi_filename` like `drummer1/session1/1_funk_80_beat_4-4.mid`
relative to `groove/`. Point at `groove/` or at its parent. The published train/validation/test split is
honoured; one group per `id`. Emotion: LoadOptions.labels_file if given, else the style prior STYLE_EMOTION
in ml/data/symbolic/groove.py (style = the part of `style` before '/', e.g. "funk/groove1" -> funk).
"""

from __future__ import annotations

from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import csv_header
from ml.data.symbolic.drumsets import MODELS, drum_items, load_drums, scan_drums
from ml.dataset import ArrayDataset

NAME = "groove-midi"
_COLUMNS = {"drummer", "session", "id", "style", "bpm", "midi_filename", "split"}


def _base(root: Path) -> Path:
    return root / "groove" if (root / "groove" / "info.csv").is_file() else root


def detect(root: Path) -> bool:
    """info.csv with GMD's columns (and no kit_name) in the folder or in groove/."""
    header = set(csv_header(_base(root) / "info.csv"))
    return header >= _COLUMNS and "kit_name" not in header


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every listed performance."""
    base = _base(root)
    items, report = drum_items(NAME, base, base / "info.csv", one_per_id=False)
    return scan_drums(items, report, base, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Groove parameters per 2-bar segment, GMD's split."""
    base = _base(root)
    items, report = drum_items(NAME, base, base / "info.csv", one_per_id=False)
    return load_drums(NAME, base, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="Groove MIDI Dataset (groove/info.csv + drummerN/sessionN/*.mid)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="Groove MIDI Dataset v1.0.0 (MIDI-only zip): https://magenta.tensorflow.org/datasets/groove - "
    "unzip; point at groove/ (holding info.csv).",
)
