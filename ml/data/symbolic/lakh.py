"""Lakh MIDI Dataset (Raffel 2016): unlabelled multi-track MIDI -> dynamics_engine (and melody_transformer
when LoadOptions.labels_file gives emotion labels).

Published layouts, under the folder given (or the folder itself being one of them):
- `lmd_full/{first hex digit of md5}/{md5}.mid` (178k files), one group per file;
- `lmd_matched/{A}/{B}/{C}/{TRxxxxxxxxxxxxxxxx}/{md5}.mid` (nested by Million Song Dataset track id) with
  `match_scores.json` `{track id: {md5: score}}` beside it; every MIDI matched to one track shares that
  track's group. A matched file missing from match_scores.json is still used (with a warning count).
An md5 present in both trees is used once (the other copy is a duplicate). Labels file (JSON or CSV, see
docs/data.md) keys may be the md5, the file name, or the relative path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import (
    Item,
    apply_labels,
    finish_scan,
    load_items,
    new_report,
    read_labels_file,
    rel,
)
from ml.data.symbolic.midi import is_midi
from ml.dataset import ArrayDataset
from ml.errors import DataError

NAME = "lakh"
MODELS = ("dynamics_engine", "melody_transformer")
_HEX = re.compile(r"^[0-9a-f]$")
_TRACK = re.compile(r"^TR[A-Z0-9]{16}$")


def _trees(root: Path) -> tuple[Path | None, Path | None]:
    full = root / "lmd_full" if (root / "lmd_full").is_dir() else (root if root.name == "lmd_full" else None)
    matched = root / "lmd_matched" if (root / "lmd_matched").is_dir() else None
    if root.name == "lmd_matched":
        matched = root
    return full, matched


def detect(root: Path) -> bool:
    """lmd_full/ or lmd_matched/ (or the folder itself being one), with hex / letter sub-folders."""
    full, matched = _trees(root)
    if full is not None and any(_HEX.match(p.name) for p in full.iterdir() if p.is_dir()):
        return True
    return matched is not None and any(len(p.name) == 1 and p.is_dir() for p in matched.iterdir())


def _items(root: Path) -> tuple[list[Item], ValidationReport]:
    report = new_report(NAME, root, MODELS)
    full, matched = _trees(root)
    items: list[Item] = []
    seen: set[str] = set()
    found = 0
    if matched is not None:
        scores_path = next(
            (p for p in (matched / "match_scores.json", root / "match_scores.json") if p.is_file()), None
        )
        scores: dict[str, dict[str, float]] = {}
        if scores_path is not None:
            try:
                scores = json.loads(scores_path.read_text())
            except (OSError, ValueError) as exc:
                report.warnings.append(f"match_scores.json unreadable ({exc}); grouping by track folder only")
        known = {(track, md5) for track, matches in scores.items() for md5 in matches}
        unscored = 0
        for path in sorted(matched.glob("*/*/*/*/*")):
            if not is_midi(path):
                continue
            found += 1
            track = path.parent.name
            if not _TRACK.match(track):
                report.skip(rel(path, root), "not in a TR... track folder")
                continue
            if scores and (track, path.stem) not in known:
                unscored += 1
            if path.stem in seen:
                report.skip(rel(path, root), "duplicate")
                continue
            seen.add(path.stem)
            items.append(Item(path, group=track))
        if unscored:
            report.warnings.append(f"{unscored} matched file(s) missing from match_scores.json")
    if full is not None:
        for path in sorted(full.glob("*/*")):
            if not is_midi(path):
                continue
            found += 1
            if not _HEX.match(path.parent.name):
                report.skip(rel(path, root), "not in a hex-digit folder")
                continue
            if path.stem in seen:
                report.skip(rel(path, root), "duplicate")
                continue
            seen.add(path.stem)
            items.append(Item(path, group=path.stem))
    report.files_found = found
    return items, report


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every MIDI file (unlabelled: no label ranges)."""
    items, report = _items(root)
    return finish_scan(report, items, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """dynamics_engine rows, or melody_transformer rows for the files the labels file names."""
    items, report = _items(root)
    if model_key == "melody_transformer":
        if options.labels_file is None:
            raise DataError("lakh has no emotion labels: pass a labels file (LoadOptions.labels_file) for melody")
        items = apply_labels(items, read_labels_file(options.labels_file), root, report)
    elif options.labels_file is not None:
        report.warnings.append("labels file ignored for dynamics_engine")
    return load_items(NAME, root, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="Lakh MIDI (lmd_full hex folders, or lmd_matched + match_scores.json); unlabelled",
    detect=detect,
    scan=scan,
    load=load,
    download_info="Lakh MIDI: https://colinraffel.com/projects/lmd/ - untar lmd_full.tar.gz or lmd_matched.tar.gz "
    "(+ match_scores.json) into one folder; point at that folder. Emotion labels for melody: --labels-file.",
)
