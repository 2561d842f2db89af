"""`deam`: the MediaEval Database for Emotional Analysis in Music, exactly as published.

Layout: `MEMD_audio/{song_id}.mp3` and the static per-song annotations
`annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv` and
`..._2000_2058.csv`. The CSVs are found anywhere under the root (people unzip DEAM_Annotations.zip in different
places). Quirks handled: a space after every comma in the headers and rows, the second file's extra columns
(valence_max_mean, ...), a UTF-8 byte-order mark, the same song listed twice (identical values: kept once;
different values: the first kept, a warning). Valence and arousal means are on 1..9 and map to [-1, 1] as
(x - 5) / 4; a value outside 1..9 skips that song.

Excerpt used: DEAM's annotators rated from second 15 on, so features come from 15 s to at most 60 s (45 s). Songs
1..2000 are 45 s excerpts (30 s annotated after the offset); songs 2001..2058 are full-length, and the 45 s cap
keeps one long song from outweighing the rest. A file shorter than 16 s is used from its start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ml.data.audio.clips import MODELS, Clip, load_clips, read_csv, scan_clips
from ml.data.audio.decode import AUDIO_SUFFIXES
from ml.data.base import NO_SCAN_OPTIONS, DataFormat, ValidationReport
from ml.errors import DataError

NAME = "deam"
CSV_PATTERN = "static_annotations_averaged_songs_*.csv"
OFFSET_SECONDS = 15.0
DURATION_SECONDS = 45.0


def _annotation_files(root: Path) -> list[Path]:
    return sorted(root.rglob(CSV_PATTERN))


def audio_folder(root: Path) -> Path | None:
    """`MEMD_audio/` in the folder or one level below it (mirrors unpack DEAM_audio.zip as DEAM_audio/MEMD_audio)."""
    for candidate in (root / "MEMD_audio", *sorted(root.glob("*/MEMD_audio"))):
        if candidate.is_dir():
            return candidate
    return None


def detect(root: Path) -> bool:
    """An MEMD_audio folder (here or one level down) and at least one static annotation CSV under the folder.

    With MEMD_audio one level down, the CSVs must lie outside that subfolder (the mirrors' DEAM_audio/ beside
    DEAM_Annotations/): a subfolder holding both is a whole data set of its own, found one level deeper.
    """
    audio = audio_folder(root)
    if audio is None:
        return False
    if audio.parent == root:
        return bool(_annotation_files(root))
    return any(not csv.is_relative_to(audio.parent) for csv in _annotation_files(root))


def _labels(root: Path, report: ValidationReport) -> dict[str, tuple[float, float]]:
    labels: dict[str, tuple[float, float]] = {}
    for csv_path in _annotation_files(root):
        for row in read_csv(csv_path):
            song = row.get("song_id", "")
            where = f"{csv_path.name}: song {song or '?'}"
            try:
                valence, arousal = float(row.get("valence_mean", "")), float(row.get("arousal_mean", ""))
            except ValueError:
                report.skip(where, "label missing or not a number")
                continue
            if not (1.0 <= valence <= 9.0 and 1.0 <= arousal <= 9.0):
                report.skip(where, f"label out of range 1..9 ({valence}, {arousal})")
                continue
            value = ((valence - 5.0) / 4.0, (arousal - 5.0) / 4.0)
            if song in labels:
                if labels[song] != value:
                    report.warnings.append(f"{where} is annotated twice with different values; the first is used")
                continue
            labels[song] = value
    return labels


def clips(root: Path, report: ValidationReport) -> Iterator[Clip]:
    """Annotated songs with audio; annotations without audio and audio without annotation are reported."""
    labels = _labels(root, report)
    folder = audio_folder(root)
    if folder is None:
        raise DataError(f"deam: no MEMD_audio/ folder in {root} or one level below it (see download-info deam)")
    audio = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    report.files_found = len(audio)
    found = {p.stem for p in audio}
    for song in sorted(set(labels) - found, key=lambda s: (len(s), s)):
        report.skip(f"{folder.relative_to(root).as_posix()}/{song}.mp3", "annotated but the audio file is missing")
    for path in audio:
        if path.stem not in labels:
            report.skip(path.relative_to(root), "no annotation for this song")
            continue
        valence, arousal = labels[path.stem]
        yield Clip(path, valence, arousal, offset=OFFSET_SECONDS, duration=DURATION_SECONDS)


DOWNLOAD_INFO = """DEAM (MediaEval Database for Emotional Analysis in Music): 1,802 songs with valence/arousal on 1..9.
Get DEAM_audio.zip and DEAM_Annotations.zip from https://cvml.unige.ch/databases/DEAM/ (free for research;
also mirrored on Kaggle), then unzip both into one folder (`mltrain datasets prepare` unpacks safely):
  DEAM/MEMD_audio/{song_id}.mp3
  DEAM/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv
  DEAM/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_2000_2058.csv
The annotation CSVs may sit anywhere under the folder, and MEMD_audio/ one level down (the common mirror layout
DEAM_audio/MEMD_audio/ beside DEAM_Annotations/annotations/...). Features use seconds 15..60 of each song."""

DEAM_FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="DEAM: MEMD_audio/*.mp3 + static per-song valence/arousal annotations (1..9)",
    detect=detect,
    scan=lambda root, options=NO_SCAN_OPTIONS: scan_clips(NAME, root, clips, options)[0],
    load=lambda root, key, options: load_clips(NAME, root, key, options, clips),
    download_info=DOWNLOAD_INFO,
)
