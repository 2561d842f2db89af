"""Expanded Groove MIDI Dataset (E-GMD, Callender et al. 2020) -> groove_predictor.

Published layout: `e-gmd-v1.0.0.csv` at the root with columns (note the order differs from GMD's)
`drummer,session,id,style,bpm,beat_type,time_signature,duration,split,midi_filename,audio_filename,kit_name`;
`midi_filename` like `drummer1/session1/1_funk_80_beat_4-4_1.midi` (`.midi`). E-GMD re-records each GMD
performance on up to 43 kits with the same MIDI, so only the first row per `id` is used (the others are
reported as duplicates); one group per `id`; the published split is honoured. Emotion as for groove-midi.
"""

from __future__ import annotations

from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import csv_header
from ml.data.symbolic.drumsets import MODELS, drum_items, load_drums, scan_drums
from ml.dataset import ArrayDataset

NAME = "egmd"


def _csv(root: Path) -> Path:
    preferred = root / "e-gmd-v1.0.0.csv"
    if preferred.is_file():
        return preferred
    found = sorted(root.glob("e-gmd-v*.csv"))
    return found[-1] if found else preferred


def detect(root: Path) -> bool:
    """e-gmd-v*.csv with a kit_name column."""
    return {"kit_name", "midi_filename", "split"} <= set(csv_header(_csv(root)))


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every listed performance (one per id)."""
    items, report = drum_items(NAME, root, _csv(root), one_per_id=True)
    return scan_drums(items, report, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Groove parameters per 2-bar segment, E-GMD's split."""
    items, report = drum_items(NAME, root, _csv(root), one_per_id=True)
    return load_drums(NAME, root, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="E-GMD (e-gmd-v1.0.0.csv + drummerN/sessionN/*.midi, one file per performance used)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="E-GMD v1.0.0: https://magenta.tensorflow.org/datasets/e-gmd - unzip; point at e-gmd-v1.0.0/.",
)
