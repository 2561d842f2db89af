"""What the audio formats share: labelled clips, the header-only scan, and feature loading through the cache.

A format yields `Clip`s (file, valence and arousal in [-1, 1], the excerpt to use) and records what it skipped;
`scan_clips` then reads every header (never decodes) for durations and drops unreadable or too-short files, and
`load_clips` turns the usable clips into one ArrayDataset: [windows, 128] log-mel vectors per file, the file's
emotion embedding as every window's target, and one `groups` id per file so a split never separates windows of
one song. A file that passes the header check but fails to decode is skipped and logged once; it never stops a
run.
"""

from __future__ import annotations

import csv
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ml import emotion
from ml.data.audio.augment import augment_waveform, waveform_settings
from ml.data.audio.decode import audio_info, load_audio
from ml.data.audio.features import FEATURE_SETTINGS, MIN_SECONDS, clip_features
from ml.data.base import NO_SCAN_OPTIONS, LoadOptions, ScanOptions, ScanProgress, ValidationReport
from ml.data.cache import FeatureCache
from ml.dataset import ArrayDataset
from ml.errors import DataError

log = logging.getLogger(__name__)
MODELS = ("emotion_recognizer",)
ClipSource = Callable[[Path, ValidationReport], Iterator["Clip"]]


@dataclass(frozen=True)
class Clip:
    """One labelled audio file and the excerpt of it to use."""

    path: Path
    valence: float  # [-1, 1]
    arousal: float  # [-1, 1]
    offset: float  # seconds skipped at the start
    duration: float  # seconds used at most


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV with keys lower-cased and stripped and a space after each comma tolerated (DEAM's quirk)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, skipinitialspace=True)
            return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def scan_clips(
    name: str, root: Path, source: ClipSource, options: ScanOptions = NO_SCAN_OPTIONS
) -> tuple[ValidationReport, list[Clip]]:
    """The report and the usable clips: headers read for durations, unreadable and too-short files skipped.

    Headers are cheap (no decoding), so this runs in-process; `options.progress` hears every 64 files.
    """
    report = ValidationReport(format=name, root=str(root), models=list(MODELS))
    usable: list[Clip] = []
    durations: list[float] = []
    clips = list(source(root, report))
    progress = ScanProgress(len(clips) + len(report.skipped), len(report.skipped), 0, len(report.skipped))
    for index, clip in enumerate(clips):
        if options.progress is not None and index % 64 == 0:
            progress.files_seen = len(report.skipped) + len(usable)
            progress.usable, progress.skipped = len(usable), len(report.skipped)
            options.progress(progress)
        rel = clip.path.relative_to(root)
        try:
            seconds, _ = audio_info(clip.path)
        except DataError as exc:
            report.skip(rel, str(exc))
            continue
        if seconds - clip.offset < MIN_SECONDS:
            # An excerpt shorter than the offset (DEAM's 15 s) still has audio: use it from the start.
            clip = replace(clip, offset=0.0)
        if min(seconds - clip.offset, clip.duration) < MIN_SECONDS:
            report.skip(rel, f"too short ({seconds:.2f} s; at least {MIN_SECONDS:.0f} s needed)")
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
    return report, usable


def load_clips(name: str, root: Path, model_key: str, options: LoadOptions, source: ClipSource) -> ArrayDataset:
    """Window features of every usable clip (through the cache), emotion targets, groups, augmented flags."""
    report, clips = scan_clips(name, root, source)
    cache = FeatureCache(options.cache_dir)
    copies = options.augmentation.copies if waveform_settings(options.augmentation) else 0
    inputs, targets, groups, flags = [], [], [], []
    used = 0
    for group, clip in enumerate(clips):
        rel = str(clip.path.relative_to(root))
        settings = {**FEATURE_SETTINGS, "offset": clip.offset, "duration": clip.duration}

        def compute(path: Path, clip: Clip = clip) -> dict[str, np.ndarray]:
            return {"windows": clip_features(load_audio(path, offset=clip.offset, duration=clip.duration))}

        try:
            blocks = [(cache.get_or_compute(clip.path, settings, compute)["windows"], False)]
            # Copies are seeded by the file's name (not its position): adding a file never changes other copies.
            file_seed = zlib.crc32(rel.encode())
            for copy in range(copies):
                aug = {**settings, "augmentation": vars(options.augmentation), "copy": copy, "seed": options.seed}

                def compute_copy(
                    path: Path, clip: Clip = clip, copy: int = copy, file_seed: int = file_seed
                ) -> dict[str, np.ndarray]:
                    rng = np.random.default_rng([options.seed, file_seed, copy])
                    y = load_audio(path, offset=clip.offset, duration=clip.duration)
                    return {"windows": clip_features(augment_waveform(y, options.augmentation, rng))}

                blocks.append((cache.get_or_compute(clip.path, aug, compute_copy)["windows"], True))
        except DataError as exc:  # passed the header check but does not decode: skip, log once, go on
            log.warning("skipping %s: %s", clip.path, exc)
            report.skip(rel, str(exc))
            continue
        used += 1
        target = emotion.encode(clip.valence, clip.arousal)[None, :]
        for windows, is_copy in blocks:
            inputs.append(windows)
            targets.append(np.repeat(target, len(windows), axis=0))
            groups.append(np.full(len(windows), group, dtype=np.int64))
            flags.append(np.full(len(windows), is_copy))
    if not inputs:
        raise DataError(f"no usable audio in {root} as {name} ({report.files_found} files found)")
    return ArrayDataset(
        model_key,
        np.concatenate(inputs),
        np.concatenate(targets),
        groups=np.concatenate(groups),
        augmented=np.concatenate(flags),
        source=name,
        info={
            "format": name,
            "files_used": used,
            "skipped": [vars(s) for s in report.skipped],
            "cache": vars(cache.stats),
        },
    )
