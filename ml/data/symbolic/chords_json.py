"""The seed's chord-progressions file -> harmony_predictor.

Layout: one or more `*.json` files at the folder's top level holding
`{"progressions": [{"chords": ["C", "Am", "F", "G"], "emotion": {"valence": v, "arousal": a}}, ...]}`.
Lenient about the emotion: `emotion` may use valence/v/Valence and arousal/a/Arousal keys or be a [v, a]
pair, or valence/arousal may sit directly in the progression; values must lie in [-1, 1]. Chords are parsed
with ml/data/symbolic/chords.py; a symbol it cannot place is treated as N.C. (a break in the history) and
counted by spelling in the report's warnings. A progression with a bad or missing emotion, or fewer than 2
chords, is skipped with a reason (reported as `file.json#index`). Repeats of one progression share a group.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.chords import NO_CHORD, parse_progression, unparsed_warning
from ml.data.symbolic.common import emotion_of, new_report
from ml.data.symbolic.harmony import harmony_rows, progression_groups
from ml.dataset import ArrayDataset
from ml.errors import DataError

NAME = "chords-json"
MODELS = ("harmony_predictor",)


def _candidates(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*.json") if p.is_file())


def detect(root: Path) -> bool:
    """A top-level JSON file whose first 64 KiB mention "progressions"."""
    for path in _candidates(root):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if '"progressions"' in handle.read(65536):
                    return True
        except OSError:
            continue
    return False


def _progressions(root: Path, report: ValidationReport) -> list[tuple[str, list[int], float, float]]:
    found: list[tuple[str, list[int], float, float]] = []
    unparsed: Counter[str] = Counter()
    for path in _candidates(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.skip(path.name, f"unreadable JSON ({exc})")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("progressions"), list):
            continue
        for index, prog in enumerate(data["progressions"]):
            report.files_found += 1
            where = f"{path.name}#{index}"
            if not isinstance(prog, dict) or not isinstance(prog.get("chords"), list):
                report.skip(where, "progression has no chords list")
                continue
            raw_emotion: Any = prog.get("emotion", prog)
            try:
                valence, arousal = emotion_of(raw_emotion)
            except ValueError as exc:
                report.skip(where, str(exc))
                continue
            classes = parse_progression(prog["chords"], unparsed)
            if len([c for c in classes if c != NO_CHORD]) < 2:
                report.skip(where, "too short (fewer than 2 chords)")
                continue
            found.append((where, classes, valence, arousal))
    if unparsed:
        report.warnings.append(unparsed_warning(unparsed))
    return found


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every progression (chords parse, emotion in range)."""
    del options  # one pass over a few JSON files: nothing to cache or spread over cores
    report = new_report(NAME, root, MODELS)
    found = _progressions(root, report)
    report.usable = len(found)
    if found:
        report.label_ranges = {
            "valence": [min(f[2] for f in found), max(f[2] for f in found)],
            "arousal": [min(f[3] for f in found), max(f[3] for f in found)],
        }
    report.warnings.append("chord progressions have no durations")
    return report


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """(emotion ++ chord context) -> next chord rows; repeats of one progression (any key) share a group."""
    if model_key not in MODELS:
        raise DataError(f"format {NAME!r} feeds harmony_predictor, not {model_key}")
    report = new_report(NAME, root, MODELS)
    found = _progressions(root, report)
    inputs, targets, groups = [], [], []
    group_of = progression_groups([classes for _where, classes, _v, _a in found])
    for gid, (_where, classes, valence, arousal) in zip(group_of, found, strict=True):
        x, y = harmony_rows(classes, valence, arousal)
        inputs.append(x)
        targets.append(y)
        groups.append(np.full(len(x), gid, dtype=np.int64))
    if not inputs or sum(len(x) for x in inputs) == 0:
        raise DataError(f"{NAME}: no usable progressions in {root}")
    return ArrayDataset(
        model_key=model_key,
        inputs=np.concatenate(inputs),
        targets=np.concatenate(targets),
        groups=np.concatenate(groups),
        source=f"{NAME}:{root}",
        info={"format": NAME, "progressions": len(found), "skipped": [vars(s) for s in report.skipped]},
    )


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description='chord progressions JSON {"progressions": [{"chords": [...], "emotion": {valence, arousal}}]}',
    detect=detect,
    scan=scan,
    load=load,
    download_info="The seed's chord progressions file; any folder holding such *.json files.",
)
