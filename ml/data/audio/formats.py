"""The two audio formats that feed emotion_recognizer: DEAM as published, and a folder with labels.csv.

DEAM: `MEMD_audio/{song_id}.mp3` and the static per-song annotations
`static_annotations_averaged_songs_1_2000.csv` / `..._2000_2058.csv` (found anywhere under the root; headers
have a space after each comma; the second file has extra columns; valence/arousal means on 1..9, mapped to
[-1, 1] as (x - 5) / 4). DEAM's annotators rated from second 15 on, so features come from 15 s to 60 s
(songs 2001-2058 are full length; the rest are 45 s excerpts). audio-labels: WAV/MP3/FLAC/OGG files beside
`labels.csv` (`filename,valence,arousal`, values in [-1, 1]); the first 60 s of each file are used.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml import emotion
from ml.data.audio.augment import augment_waveform, waveform_settings
from ml.data.audio.decode import AUDIO_SUFFIXES, audio_info, load_audio
from ml.data.audio.features import FEATURE_SETTINGS, MIN_SECONDS, clip_features
from ml.data.base import DataFormat, LoadOptions, ValidationReport
from ml.data.cache import FeatureCache
from ml.dataset import ArrayDataset
from ml.errors import DataError

log = logging.getLogger(__name__)
MODELS = ("emotion_recognizer",)
DEAM_CSV_PATTERN = "static_annotations_averaged_songs_*.csv"


@dataclass(frozen=True)
class Clip:
    """One labelled audio file and the excerpt of it to use."""

    path: Path
    valence: float  # [-1, 1]
    arousal: float  # [-1, 1]
    offset: float
    duration: float


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


# ---- DEAM --------------------------------------------------------------------------------------------------


def _deam_annotations(root: Path) -> list[Path]:
    return sorted(root.rglob(DEAM_CSV_PATTERN))


def detect_deam(root: Path) -> bool:
    """DEAM: an MEMD_audio folder and its static annotation CSVs."""
    return (root / "MEMD_audio").is_dir() and bool(_deam_annotations(root))


def _deam_clips(root: Path, report: ValidationReport) -> Iterator[Clip]:
    labels: dict[str, tuple[float, float]] = {}
    for csv_path in _deam_annotations(root):
        for row in _read_csv(csv_path):
            song, v, a = row.get("song_id", ""), row.get("valence_mean", ""), row.get("arousal_mean", "")
            try:
                valence, arousal = float(v), float(a)
            except ValueError:
                report.skip(f"{csv_path.name}: song {song or '?'}", "label missing or not a number")
                continue
            if not (1.0 <= valence <= 9.0 and 1.0 <= arousal <= 9.0):
                report.skip(f"{csv_path.name}: song {song}", f"label out of range 1..9 ({valence}, {arousal})")
                continue
            if song in labels:
                report.skip(f"{csv_path.name}: song {song}", "duplicate annotation")
                continue
            labels[song] = ((valence - 5.0) / 4.0, (arousal - 5.0) / 4.0)
    audio = sorted(p for p in (root / "MEMD_audio").iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    report.files_found = len(audio)
    found = {p.stem for p in audio}
    for song in sorted(set(labels) - found, key=lambda s: (len(s), s)):
        report.skip(f"MEMD_audio/{song}.mp3", "annotated but the audio file is missing")
    for path in audio:
        if path.stem not in labels:
            report.skip(path.relative_to(root), "no annotation for this song")
            continue
        valence, arousal = labels[path.stem]
        yield Clip(path, valence, arousal, offset=15.0, duration=45.0)


# ---- folder + labels.csv -----------------------------------------------------------------------------------


def detect_audio_labels(root: Path) -> bool:
    """A labels.csv with filename,valence,arousal beside audio files."""
    labels = root / "labels.csv"
    if not labels.is_file():
        return False
    with labels.open(encoding="utf-8-sig") as handle:
        header = handle.readline().lower().replace(" ", "")
    return header.startswith("filename,") and "valence" in header and "arousal" in header


def _audio_label_clips(root: Path, report: ValidationReport) -> Iterator[Clip]:
    audio = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    report.files_found = len(audio)
    by_name = {str(p.relative_to(root)): p for p in audio}
    seen: set[str] = set()
    for row in _read_csv(root / "labels.csv"):
        name = row.get("filename", "")
        if name in seen:
            report.skip(name, "duplicate row in labels.csv")
            continue
        seen.add(name)
        path = by_name.get(name)
        if path is None:
            report.skip(name, "listed in labels.csv but the file is missing")
            continue
        try:
            valence, arousal = float(row.get("valence", "")), float(row.get("arousal", ""))
        except ValueError:
            report.skip(name, "label missing or not a number")
            continue
        if not (-1.0 <= valence <= 1.0 and -1.0 <= arousal <= 1.0):
            report.skip(name, f"label out of range -1..1 ({valence}, {arousal})")
            continue
        yield Clip(path, valence, arousal, offset=0.0, duration=60.0)
    for name in sorted(set(by_name) - seen):
        report.skip(name, "no row in labels.csv")


# ---- shared scan and load ----------------------------------------------------------------------------------


def _checked(clips: Iterator[Clip], root: Path, report: ValidationReport) -> list[Clip]:
    """Clips whose header reads and that are long enough; durations and label ranges into the report."""
    usable, durations = [], []
    for clip in clips:
        name = str(clip.path.relative_to(root))
        try:
            seconds, _ = audio_info(clip.path)
        except DataError as exc:
            report.skip(name, str(exc))
            continue
        available = min(seconds - clip.offset, clip.duration)
        if available < MIN_SECONDS:
            # DEAM excerpts shorter than the annotation offset still have audio: use them from the start.
            available = min(seconds, clip.duration)
            clip = Clip(clip.path, clip.valence, clip.arousal, 0.0, clip.duration)
        if available < MIN_SECONDS:
            report.skip(name, f"too short ({seconds:.2f} s; at least {MIN_SECONDS:.0f} s needed)")
            continue
        durations.append(seconds)
        usable.append(clip)
    report.usable = len(usable)
    if durations:
        report.duration_seconds = {"total": float(sum(durations)), "min": min(durations), "max": max(durations)}
    if usable:
        v = [c.valence for c in usable]
        a = [c.arousal for c in usable]
        report.label_ranges = {"valence": [min(v), max(v)], "arousal": [min(a), max(a)]}
    return usable


def _scan(name: str, root: Path) -> tuple[ValidationReport, list[Clip]]:
    report = ValidationReport(format=name, root=str(root), models=list(MODELS))
    clips = _deam_clips(root, report) if name == "deam" else _audio_label_clips(root, report)
    return report, _checked(clips, root, report)


def _load(name: str, root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    report, clips = _scan(name, root)
    cache = FeatureCache(options.cache_dir)
    inputs, targets, groups, flags = [], [], [], []
    for group, clip in enumerate(clips):
        settings = {**FEATURE_SETTINGS, "offset": clip.offset, "duration": clip.duration}

        def compute(path: Path, clip: Clip = clip) -> dict[str, np.ndarray]:
            return {"windows": clip_features(load_audio(path, offset=clip.offset, duration=clip.duration))}

        try:
            windows = cache.get_or_compute(clip.path, settings, compute)["windows"]
        except DataError as exc:  # a file that passed the header check but fails to decode
            report.skip(clip.path.relative_to(root), str(exc))
            continue
        rows = [(windows, False)]
        for copy in range(options.augmentation.copies if waveform_settings(options.augmentation) else 0):
            aug_settings = {**settings, "augmentation": vars(options.augmentation), "copy": copy, "seed": options.seed}

            def compute_copy(
                path: Path, clip: Clip = clip, copy: int = copy, group: int = group
            ) -> dict[str, np.ndarray]:
                rng = np.random.default_rng([options.seed, group, copy])
                y = load_audio(path, offset=clip.offset, duration=clip.duration)
                return {"windows": clip_features(augment_waveform(y, options.augmentation, rng))}

            rows.append((cache.get_or_compute(clip.path, aug_settings, compute_copy)["windows"], True))
        for block, is_copy in rows:
            inputs.append(block)
            targets.append(np.repeat(emotion.encode(clip.valence, clip.arousal)[None, :], len(block), axis=0))
            groups.append(np.full(len(block), group, dtype=np.int64))
            flags.append(np.full(len(block), is_copy))
    if not inputs:
        raise DataError(f"no usable audio in {root} as {name} ({report.files_found} files found)")
    return ArrayDataset(
        model_key,
        np.concatenate(inputs),
        np.concatenate(targets),
        groups=np.concatenate(groups),
        augmented=np.concatenate(flags),
        source=name,
        info={"files_used": len(clips), "skipped": len(report.skipped), "cache": vars(cache.stats)},
    )


DEAM_INFO = """DEAM (MediaEval Database for Emotional Analysis in Music), 1,802 songs with valence/arousal on 1..9.
Get it from the DEAM page of the University of Geneva (cvml.unige.ch/databases/DEAM): DEAM_audio.zip and
DEAM_Annotations.zip. Layout expected (unzip both into one folder):
  DEAM/MEMD_audio/{song_id}.mp3
  DEAM/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv
  DEAM/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_2000_2058.csv"""

AUDIO_LABELS_INFO = """A folder of your own audio (WAV, MP3, FLAC or OGG) with labels.csv beside it:
  clips/labels.csv        filename,valence,arousal   (valence and arousal in -1..1; filename relative to clips/)
  clips/song1.wav ..."""

AUDIO_FORMATS_LIST: tuple[DataFormat, ...] = (
    DataFormat(
        name="deam",
        models=MODELS,
        description="DEAM: MEMD_audio/*.mp3 + static per-song valence/arousal annotations (1..9)",
        detect=detect_deam,
        scan=lambda root: _scan("deam", root)[0],
        load=lambda root, key, options: _load("deam", root, key, options),
        download_info=DEAM_INFO,
    ),
    DataFormat(
        name="audio-labels",
        models=MODELS,
        description="a folder of WAV/MP3/FLAC/OGG with labels.csv (filename,valence,arousal in -1..1)",
        detect=detect_audio_labels,
        scan=lambda root: _scan("audio-labels", root)[0],
        load=lambda root, key, options: _load("audio-labels", root, key, options),
        download_info=AUDIO_LABELS_INFO,
    ),
)
