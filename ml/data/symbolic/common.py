"""Machinery shared by the MIDI formats: items, labels, cached per-file features, scan and load.

A format lists its *items* (one MIDI file each, with group, published split and emotion where known) and
records label problems in the report; this module does the rest the same way for every format:
- scan: parse every item's file (quietly) and record unreadable / empty / too-short files with a reason;
- load: build the per-file rows for the requested model through `ml.data.cache.FeatureCache` (keyed by the
  file's sha256 and the builder's settings, so a second preparation parses no MIDI), skip bad files with a
  reason (kept in `dataset.info["skipped"]`), and assemble an ArrayDataset with groups and split.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ml import emotion
from ml.data.base import NO_SCAN_OPTIONS, LoadOptions, ScanOptions, ValidationReport
from ml.data.scan import FileCheck, check_files
from ml.data.symbolic.dynamics import SETTINGS as DYNAMICS_SETTINGS
from ml.data.symbolic.dynamics import dynamics_rows
from ml.data.symbolic.groove import SETTINGS as GROOVE_SETTINGS
from ml.data.symbolic.groove import groove_features
from ml.data.symbolic.melody import SETTINGS as MELODY_SETTINGS
from ml.data.symbolic.melody import melody_rows, with_emotion
from ml.data.symbolic.midi import NOTES_VERSION, MidiError, check_parsed, duration_of, is_midi, parse_midi_file
from ml.dataset import ArrayDataset
from ml.errors import DataError

Features = dict[str, np.ndarray]
EMOTION_INPUT_MODELS = ("melody_transformer", "groove_predictor")  # rows need the item's (valence, arousal)


@dataclass
class Item:
    """One MIDI file of a data set and what the format knows about it."""

    path: Path
    group: str
    split: str | None = None
    valence: float | None = None
    arousal: float | None = None
    style: str | None = None


def midi_files(root: Path, pattern: str = "**/*") -> list[Path]:
    """Every .mid/.midi file under root matching `pattern`, sorted (deterministic order)."""
    return sorted(p for p in root.glob(pattern) if p.is_file() and is_midi(p))


def rel(path: Path, root: Path) -> str:
    """Path relative to root as a POSIX string (report and label keys)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts (header stripped of spaces/BOM); DataError if unreadable."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
            return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def csv_header(path: Path) -> list[str]:
    """The header of a CSV file (cheap: first line only); [] if unreadable."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return [name.strip() for name in handle.readline().strip().split(",")]
    except (OSError, UnicodeDecodeError):
        return []


_VALENCE_KEYS = ("valence", "Valence", "VALENCE", "v", "val")
_AROUSAL_KEYS = ("arousal", "Arousal", "AROUSAL", "a", "aro", "energy")


def emotion_of(value: Any) -> tuple[float, float]:
    """(valence, arousal) from a lenient label: {"valence": v, "arousal": a} (also v/a, Valence...) or [v, a].

    Raises ValueError with a short reason if a value is missing, not a number, or outside [-1, 1].
    """
    if isinstance(value, list | tuple) and len(value) == 2:
        raw_v, raw_a = value
    elif isinstance(value, Mapping):
        raw_v = next((value[k] for k in _VALENCE_KEYS if k in value), None)
        raw_a = next((value[k] for k in _AROUSAL_KEYS if k in value), None)
        if raw_v is None or raw_a is None:
            raise ValueError("label missing valence or arousal")
    else:
        raise ValueError("label is not an object with valence and arousal")
    try:
        v, a = float(raw_v), float(raw_a)
    except (TypeError, ValueError):
        raise ValueError(f"label not a number (valence={raw_v!r}, arousal={raw_a!r})") from None
    if not (math.isfinite(v) and math.isfinite(a) and -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0):
        raise ValueError(f"label out of range [-1, 1] (valence={v:g}, arousal={a:g})")
    return v, a


def read_labels_file(path: Path) -> dict[str, Any]:
    """Emotion labels for unlabelled sets: JSON `{key: {"valence": v, "arousal": a}}` or a CSV with columns
    (file|filename|path|id|midi_filename, valence, arousal). Keys match a file's relative path, name or stem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"labels file not found: {path}")
    if path.suffix.lower() == ".csv":
        rows = read_csv_rows(path)
        key_col = next((k for k in ("file", "filename", "path", "id", "midi_filename") if rows and k in rows[0]), None)
        if key_col is None:
            raise DataError(f"{path}: a labels CSV needs a file/filename/path/id column plus valence, arousal")
        return {row[key_col]: row for row in rows}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"labels file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"labels file {path} must hold an object {{file: {{valence, arousal}}}}")
    return data


def lookup_label(labels: Mapping[str, Any], path: Path, root: Path) -> Any:
    """The label of a file by relative path, file name or stem (None if absent)."""
    for key in (rel(path, root), path.name, path.stem):
        if key in labels:
            return labels[key]
    return None


def apply_labels(items: list[Item], labels: Mapping[str, Any], root: Path, report: ValidationReport) -> list[Item]:
    """Attach labels to items; items without a usable label are skipped with the reason."""
    kept = []
    for item in items:
        raw = lookup_label(labels, item.path, root)
        if raw is None:
            report.skip(rel(item.path, root), "label missing")
            continue
        try:
            item.valence, item.arousal = emotion_of(raw)
        except ValueError as exc:
            report.skip(rel(item.path, root), str(exc))
            continue
        kept.append(item)
    if items and not kept and not any(lookup_label(labels, i.path, root) is not None for i in items):
        example = rel(items[0].path, root)
        keys = ", ".join(sorted(map(str, labels))[:3]) or "none"
        raise DataError(
            f"the labels file covers none of the {len(items)} files (e.g. no entry for {example!r}; its keys look "
            f"like: {keys}); key each label by the file's path relative to {root}, its name or its stem"
        )
    return kept


# --- per-model builders ------------------------------------------------------------------------------------


def _melody_compute(path: Path) -> Features:
    parsed = parse_midi_file(path)
    try:
        inputs, targets, key = melody_rows(parsed)
    except MidiError as exc:
        return {"error": np.array(str(exc))}
    if len(targets) == 0:
        return {"error": np.array("too short (no 4-bar segment with 4+ notes)")}
    # inputs hold 0 in the emotion columns: the label is filled in by load_items (it is not the file's)
    return {"inputs": inputs, "targets": targets, "duration": np.array([duration_of(parsed)]),
            "key": np.array(key.name), "key_source": np.array(key.source),
            "key_shift": np.array([key.shift])}  # fmt: skip


def _dynamics_compute(path: Path, lookahead_seconds: float = 0.0) -> Features:
    parsed = parse_midi_file(path)
    try:
        rows = dynamics_rows(parsed, lookahead_seconds)
    except MidiError as exc:
        return {"error": np.array(str(exc))}
    if len(rows.inputs) < 2:
        return {"error": np.array("too short (under 2 notes)")}
    return {"inputs": rows.inputs, "targets": rows.targets, "beat_grid": np.array([rows.beat_grid]),
            "duration": np.array([duration_of(parsed)])}  # fmt: skip


def _groove_compute(path: Path) -> Features:
    parsed = parse_midi_file(path)
    try:
        features = groove_features(parsed)
    except MidiError as exc:
        return {"error": np.array(str(exc))}
    features["duration"] = np.array([duration_of(parsed)])
    return features


BUILDERS: dict[str, tuple[Mapping[str, Any], Callable[[Path], Features]]] = {
    "melody_transformer": (MELODY_SETTINGS, _melody_compute),
    "dynamics_engine": (DYNAMICS_SETTINGS, _dynamics_compute),
    "groove_predictor": (GROOVE_SETTINGS, _groove_compute),
}


class FeatureSource:
    """Per-file features through the shared FeatureCache when a cache_dir is set, else computed directly."""

    def __init__(self, cache_dir: Path | None, lookahead_seconds: float = 0.0) -> None:
        self.cache: Any = None
        self.lookahead_seconds = lookahead_seconds
        if cache_dir is not None:
            from ml.data.cache import FeatureCache

            self.cache = FeatureCache(Path(cache_dir))

    def get(self, path: Path, model_key: str) -> Features:
        settings, compute = BUILDERS[model_key]
        full = {**settings, "notes_version": NOTES_VERSION}
        if model_key == "dynamics_engine":  # the lookahead changes the inputs, so it is part of the cache key
            full["lookahead_seconds"] = self.lookahead_seconds
            compute = partial(_dynamics_compute, lookahead_seconds=self.lookahead_seconds)
        if self.cache is None:
            return compute(path)
        return dict(self.cache.get_or_compute(path, full, compute))

    def stats(self) -> dict[str, int]:
        """Cache hits and misses so far (zeros without a cache)."""
        if self.cache is None:
            return {"hits": 0, "misses": 0}
        stats = self.cache.stats
        if callable(stats):
            stats = stats()
        if isinstance(stats, Mapping):
            return {"hits": int(stats.get("hits", 0)), "misses": int(stats.get("misses", 0))}
        return {"hits": int(stats.hits), "misses": int(stats.misses)}


# --- scan and load --------------------------------------------------------------------------------------------


def new_report(name: str, root: Path, models: Iterable[str]) -> ValidationReport:
    """An empty report for a format."""
    return ValidationReport(format=name, root=str(root), models=list(models))


def _midi_check(path: Path) -> Features:
    """Scan outcome of one melodic MIDI file: its duration, or why it is skipped."""
    parsed = parse_midi_file(path)
    try:
        check_parsed(parsed)
    except MidiError as exc:
        return {"error": np.array(str(exc))}
    return {"duration": np.array([duration_of(parsed)])}


def _drum_check(path: Path) -> Features:
    """Scan outcome of one drum MIDI file: a file needs one 2-bar segment with 4+ mapped hits."""
    parsed = parse_midi_file(path)
    try:
        groove_features(parsed)
    except MidiError as exc:
        return {"error": np.array(str(exc))}
    return {"duration": np.array([duration_of(parsed)])}


MIDI_CHECK = FileCheck({"scan_check": "midi", "min_seconds": 1.0, "notes_version": NOTES_VERSION}, _midi_check)
DRUM_CHECK = FileCheck({"scan_check": "drums", **GROOVE_SETTINGS, "notes_version": NOTES_VERSION}, _drum_check)


def finish_scan(
    report: ValidationReport,
    items: list[Item],
    root: Path,
    options: ScanOptions = NO_SCAN_OPTIONS,
    *,
    drums: bool = False,
) -> ValidationReport:
    """Check every item's file (cached, on `options.workers` processes), count usable ones, fill durations,
    label ranges and split sizes."""
    outcomes = check_files(
        [item.path for item in items], DRUM_CHECK if drums else MIDI_CHECK, options, counted=len(report.skipped)
    )
    durations: list[float] = []
    usable: list[Item] = []
    for item, outcome in zip(items, outcomes, strict=True):
        if isinstance(outcome, str):
            report.skip(rel(item.path, root), outcome)
            continue
        usable.append(item)
        durations.append(outcome)
    report.usable = len(usable)
    if durations:
        report.duration_seconds = {"total": float(sum(durations)), "min": min(durations), "max": max(durations)}
    labelled = [i for i in usable if i.valence is not None and i.arousal is not None]
    if labelled:
        vs = [float(i.valence) for i in labelled if i.valence is not None]
        ars = [float(i.arousal) for i in labelled if i.arousal is not None]
        report.label_ranges = {"valence": [min(vs), max(vs)], "arousal": [min(ars), max(ars)]}
    splits: dict[str, int] = {}
    for item in usable:
        if item.split:
            splits[item.split] = splits.get(item.split, 0) + 1
    report.splits = splits
    return report


def dedupe(items: list[Item], root: Path, report: ValidationReport) -> list[Item]:
    """Drop items listed twice for the same file (recorded as duplicate)."""
    seen: set[Path] = set()
    kept = []
    for item in items:
        key = item.path.resolve()
        if key in seen:
            report.skip(rel(item.path, root), "duplicate")
            continue
        seen.add(key)
        kept.append(item)
    return kept


def _key_info(file_keys: dict[str, str]) -> dict[str, Any]:
    """melody_transformer info: `keys` {key name: files} and `file_keys` {file: "key (source)"}; {} if none."""
    counts: dict[str, int] = {}
    for value in file_keys.values():
        name = value.split(" (")[0]
        counts[name] = counts.get(name, 0) + 1
    return {"keys": dict(sorted(counts.items())), "file_keys": file_keys} if file_keys else {}


def _dynamics_info(grids: dict[bool, int], lookahead_seconds: float) -> dict[str, Any]:
    """dynamics_engine info: beat-grid counts, and the export metadata the plugin needs to build the same inputs."""
    beat_grid = {"files_with_grid": grids[True], "files_without_grid": grids[False]}
    return {
        "beat_grid": beat_grid,
        "export_metadata": {"lookahead_seconds": lookahead_seconds, "causal": lookahead_seconds == 0.0,
                            "beat_grid": beat_grid},
    }  # fmt: skip


def load_items(
    name: str, root: Path, model_key: str, options: LoadOptions, items: list[Item], report: ValidationReport | None
) -> ArrayDataset:
    """Build the model's rows for every item through the cache; bad files are skipped with a reason.

    The scan's skips (from `report`) start the `info["skipped"]` list that load-time skips extend.
    """
    skipped = [] if report is None else [{"path": s.path, "reason": s.reason} for s in report.skipped]
    if model_key not in BUILDERS:
        raise DataError(f"format {name!r} cannot feed {model_key}")
    source = FeatureSource(options.cache_dir, options.lookahead_seconds)
    inputs, targets, groups, splits = [], [], [], []
    group_ids: dict[str, int] = {}
    files_used = 0
    file_keys: dict[str, str] = {}  # melody_transformer: file -> "D major (signature)", the estimated key
    grids = {True: 0, False: 0}  # dynamics_engine: files with / without a usable beat grid
    for item in items:
        if model_key in EMOTION_INPUT_MODELS and (item.valence is None or item.arousal is None):
            skipped.append({"path": rel(item.path, root), "reason": "label missing"})
            continue
        features = source.get(item.path, model_key)
        if "error" in features:
            skipped.append({"path": rel(item.path, root), "reason": str(features["error"])})
            continue
        y = features["targets"]
        if model_key == "dynamics_engine":
            x = features["inputs"]
            grids[bool(features["beat_grid"][0])] += 1
        elif model_key == "melody_transformer":
            file_keys[rel(item.path, root)] = f"{features['key']} ({features['key_source']})"
            x = with_emotion(features["inputs"], float(item.valence or 0.0), float(item.arousal or 0.0))
        else:  # groove: the item's emotion (labels file or style prior), never a function of its notes
            x = np.repeat(emotion.encode(float(item.valence or 0.0), float(item.arousal or 0.0))[None, :], len(y), 0)
        gid = group_ids.setdefault(item.group, len(group_ids))
        files_used += 1
        inputs.append(x)
        targets.append(y)
        groups.append(np.full(len(y), gid, dtype=np.int64))
        splits.append([item.split or ""] * len(y))
    if not inputs:
        reasons = sorted({s["reason"] for s in skipped})[:5]
        raise DataError(f"{name}: no usable files in {root} for {model_key} (skipped: {'; '.join(reasons) or 'none'})")
    split_all = np.concatenate([np.asarray(s, dtype=np.str_) for s in splits])
    published = bool(np.all(split_all != ""))
    return ArrayDataset(
        model_key=model_key,
        inputs=np.concatenate(inputs),
        targets=np.concatenate(targets),
        groups=np.concatenate(groups),
        split=split_all if published else None,
        source=f"{name}:{root}",
        info={
            "format": name,
            "files_used": files_used,
            "skipped": skipped,
            "cache": source.stats(),
            **_key_info(file_keys),
            **(_dynamics_info(grids, options.lookahead_seconds) if model_key == "dynamics_engine" else {}),
        },
    )
