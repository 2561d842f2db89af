"""Jazz standards chord charts (iReal Pro-derived, github.com/mikeoliphant/JazzStandards) -> harmony_predictor.

Published layout: `JazzStandards.json` (a list of songs) and/or a `JazzStandards/` folder of one JSON per
song (`Autumn Leaves.json`); either may sit in the folder given (the per-song files win when both exist: the
repository's combined file carries no Key). A chart without a Key gets valence 0, counted in the warnings.
Each song: `{"Title", "Composer", "Key": "G-" or "Cmin" (minor), "Rhythm": "Medium Swing",
"Sections": [{"Label": "A", "MainSegment": {"Chords": "C-7|F7|Bb^7,Eb^7|..."}, "Endings": [{"Chords": ...}]}]}`.
Chords: bars split by '|', chords within a bar by ','; empty slots are skipped; parenthesised alternates
(`C^7(A-7)`, `(Ab-7)`) are dropped; iReal qualities (^ maj7, - minor, h half-diminished, o diminished, sus, alt)
go through the shared parser. Play order: each section's main segment, once per ending with that ending
appended (once if it has none). A symbol the vocabulary cannot place is treated as N.C. (a break in the
history) and counted by spelling in the report's warnings.

The corpus has no emotion, so it is derived per song (documented mapping):
- valence = +0.6 for a major key, -0.6 for a minor key (the chart's Key field). Not from the chord qualities:
  those are the targets, and a label computed from them would leak the answer into the input;
- arousal from Rhythm (first keyword that matches, in this order): ballad -0.6, slow -0.4, bossa -0.2,
  waltz -0.2, up tempo 0.7, fast 0.7, medium up 0.4, medium 0.0, latin 0.3, funk 0.5, rock 0.4, even 0.1; else 0.
One group per song.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.chords import NO_CHORD, parse_progression, unparsed_warning
from ml.data.symbolic.common import new_report
from ml.data.symbolic.harmony import harmony_rows, progression_groups
from ml.dataset import ArrayDataset
from ml.errors import DataError

NAME = "jazz-standards"
MODELS = ("harmony_predictor",)
RHYTHM_AROUSAL = (
    ("ballad", -0.6), ("slow", -0.4), ("bossa", -0.2), ("waltz", -0.2), ("up tempo", 0.7), ("fast", 0.7),
    ("medium up", 0.4), ("medium", 0.0), ("latin", 0.3), ("funk", 0.5), ("rock", 0.4), ("even", 0.1),
)  # fmt: skip


def _sources(root: Path) -> list[Path]:
    # The per-song files win: the repository's combined JazzStandards.json has no "Key", so no mode (valence).
    folder = root / "JazzStandards"
    songs = sorted(folder.glob("*.json")) if folder.is_dir() else []
    combined = root / "JazzStandards.json"
    return songs or ([combined] if combined.is_file() else [])


def detect(root: Path) -> bool:
    """JazzStandards.json or a JazzStandards/ folder of song JSON files."""
    return bool(_sources(root))


def song_arousal(rhythm: str) -> float:
    """Arousal from an iReal rhythm/style name (see module docstring)."""
    low = rhythm.lower()
    return next((value for key, value in RHYTHM_AROUSAL if key in low), 0.0)


def song_valence(key: str) -> float:
    """Valence from the chart's key mode alone (see module docstring): never from its chords, the targets."""
    return -0.6 if key.strip().lower().endswith(("-", "m", "min", "minor")) else 0.6  # "G-", "Gm", "Cmin"


def chart_symbols(chords: str) -> list[str]:
    """Chord symbols of one iReal chord string, in order (alternates and empty slots dropped)."""
    symbols = []
    for bar in chords.split("|"):
        for token in bar.split(","):
            token = re.sub(r"\(.*?\)", "", token).strip()
            if token:
                symbols.append(token)
    return symbols


def _song_symbols(song: dict[str, Any]) -> list[str]:
    symbols: list[str] = []
    for section in song.get("Sections") or []:
        main = chart_symbols(str((section.get("MainSegment") or {}).get("Chords") or ""))
        endings = [chart_symbols(str(e.get("Chords") or "")) for e in section.get("Endings") or []]
        for ending in endings or [[]]:
            symbols += main + ending
    return symbols


def _songs(root: Path, report: ValidationReport) -> list[tuple[str, list[int], float, float]]:
    found = []
    unparsed: Counter[str] = Counter()
    keyless = 0
    for path in _sources(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.skip(path.name, f"unreadable JSON ({exc})")
            continue
        songs = data if isinstance(data, list) else [data]
        for index, song in enumerate(songs):
            report.files_found += 1
            title = str(song.get("Title", f"{path.name}#{index}")) if isinstance(song, dict) else f"{path.name}#{index}"
            if not isinstance(song, dict) or not isinstance(song.get("Sections"), list):
                report.skip(title, "song has no Sections list")
                continue
            classes = parse_progression(list(_song_symbols(song)), unparsed)
            if len([c for c in classes if c != NO_CHORD]) < 2:
                report.skip(title, "too short (fewer than 2 chords)")
                continue
            if not str(song.get("Key", "")).strip():
                keyless += 1
            valence = song_valence(str(song.get("Key", ""))) if str(song.get("Key", "")).strip() else 0.0
            arousal = song_arousal(str(song.get("Rhythm", "")))
            found.append((title, classes, valence, arousal))
    if unparsed:
        report.warnings.append(unparsed_warning(unparsed))
    if keyless:
        report.warnings.append(f"{keyless} chart(s) without a Key: mode unknown, valence 0")
    return found


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate every song chart."""
    del options  # one pass over a few JSON files: nothing to cache or spread over cores
    report = new_report(NAME, root, MODELS)
    found = _songs(root, report)
    report.usable = len(found)
    if found:
        report.label_ranges = {
            "valence": [min(f[2] for f in found), max(f[2] for f in found)],
            "arousal": [min(f[3] for f in found), max(f[3] for f in found)],
        }
    return report


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """(emotion ++ chord context) -> next chord rows; songs with the same progression (any key) share a group."""
    if model_key not in MODELS:
        raise DataError(f"format {NAME!r} feeds harmony_predictor, not {model_key}")
    report = new_report(NAME, root, MODELS)
    found = _songs(root, report)
    inputs, targets, groups = [], [], []
    group_of = progression_groups([classes for _title, classes, _v, _a in found])
    for gid, (_title, classes, valence, arousal) in zip(group_of, found, strict=True):
        x, y = harmony_rows(classes, valence, arousal)
        inputs.append(x)
        targets.append(y)
        groups.append(np.full(len(x), gid, dtype=np.int64))
    if not inputs or sum(len(x) for x in inputs) == 0:
        raise DataError(f"{NAME}: no usable songs in {root}")
    return ArrayDataset(
        model_key=model_key,
        inputs=np.concatenate(inputs),
        targets=np.concatenate(targets),
        groups=np.concatenate(groups),
        source=f"{NAME}:{root}",
        info={
            "format": NAME,
            "songs": len(found),
            "skipped": [vars(s) for s in report.skipped],
            "warnings": report.warnings,
        },
    )


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="jazz standards chord charts (iReal-derived JazzStandards.json or JazzStandards/*.json)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="https://github.com/mikeoliphant/JazzStandards - clone; point at the checkout (holding "
    "JazzStandards.json).",
)
