"""`audio-labels`: a folder of your own audio with a labels.csv beside it.

Layout: `labels.csv` with the header `filename,valence,arousal` (case and spaces after commas tolerated) and one
row per file; `filename` is relative to the folder (sub-folders allowed). Audio: WAV, MP3, FLAC, OGG/Opus, AIFF
(soundfile), and M4A/AAC/WMA where ffmpeg is installed. The first 60 s of each file are used.

Scale: valence and arousal are expected in [-1, 1]. A file whose every value lies in 1..9 with at least one above
1 is clearly on DEAM's 1..9 scale: it is accepted, mapped as (x - 5) / 4, and the report says so in `warnings`.
Anything else outside [-1, 1] skips that row ("label out of range"). Rows for missing files, duplicate rows and
audio without a row are reported too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ml.data.audio.clips import MODELS, Clip, load_clips, read_csv, scan_clips
from ml.data.audio.decode import AUDIO_SUFFIXES
from ml.data.base import NO_SCAN_OPTIONS, DataFormat, ValidationReport

NAME = "audio-labels"
LABELS_FILE = "labels.csv"
DURATION_SECONDS = 60.0


def detect(root: Path) -> bool:
    """A labels.csv whose header starts with filename and names valence and arousal."""
    labels = root / LABELS_FILE
    if not labels.is_file():
        return False
    try:
        with labels.open(encoding="utf-8-sig") as handle:
            header = handle.readline().lower().replace(" ", "")
    except (OSError, UnicodeDecodeError):
        return False
    return header.startswith("filename,") and "valence" in header and "arousal" in header


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _nine_point_scale(rows: list[dict[str, str]]) -> bool:
    values = [_number(row.get(key, "")) for row in rows for key in ("valence", "arousal")]
    known = [v for v in values if v is not None]
    return bool(known) and all(1.0 <= v <= 9.0 for v in known) and any(v > 1.0 for v in known)


def clips(root: Path, report: ValidationReport) -> Iterator[Clip]:
    """Rows of labels.csv whose file exists and whose labels are numbers in range."""
    audio = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    report.files_found = len(audio)
    by_name = {p.relative_to(root).as_posix(): p for p in audio}
    rows = read_csv(root / LABELS_FILE)
    nine = _nine_point_scale(rows)
    if nine:
        report.warnings.append("labels.csv uses the 1..9 scale (every value in 1..9); mapped as (x - 5) / 4")
    seen: set[str] = set()
    for row in rows:
        name = PurePosixPath(row.get("filename", "").replace("\\", "/")).as_posix()
        if name in seen:
            report.skip(name, "duplicate row in labels.csv")
            continue
        seen.add(name)
        path = by_name.get(name)
        if path is None:
            report.skip(name, "listed in labels.csv but the file is missing")
            continue
        valence, arousal = _number(row.get("valence", "")), _number(row.get("arousal", ""))
        if valence is None or arousal is None:
            report.skip(name, "label missing or not a number")
            continue
        if nine:
            valence, arousal = (valence - 5.0) / 4.0, (arousal - 5.0) / 4.0
        if not (-1.0 <= valence <= 1.0 and -1.0 <= arousal <= 1.0):
            report.skip(name, f"label out of range -1..1 ({valence}, {arousal})")
            continue
        yield Clip(path, valence, arousal, offset=0.0, duration=DURATION_SECONDS)
    for name in sorted(set(by_name) - seen):
        report.skip(name, "no row in labels.csv")


DOWNLOAD_INFO = """Your own audio (WAV, MP3, FLAC, OGG, AIFF; M4A/AAC with ffmpeg) with labels.csv in the same folder:
  clips/labels.csv        filename,valence,arousal   (one row per file; valence and arousal in -1..1, or all on 1..9)
  clips/song1.wav
  clips/live/song2.mp3    (filename "live/song2.mp3": paths relative to clips/)
The first 60 s of each file are used; each file becomes one group of 3 s windows."""

AUDIO_LABELS_FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="a folder of WAV/MP3/FLAC/OGG with labels.csv (filename,valence,arousal in -1..1)",
    detect=detect,
    scan=lambda root, options=NO_SCAN_OPTIONS: scan_clips(NAME, root, clips, options)[0],
    load=lambda root, key, options: load_clips(NAME, root, key, options, clips),
    download_info=DOWNLOAD_INFO,
)
