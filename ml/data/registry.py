"""All known data-set formats by name, format detection, and the two entry points: load and validate."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.dataset import ArrayDataset
from ml.errors import DataError
from ml.models.registry import get_spec


def _all_formats() -> dict[str, DataFormat]:
    # Each family registers its formats in its own package; order matters for detection (most specific first).
    from ml.data.audio import AUDIO_FORMATS
    from ml.data.symbolic import SYMBOLIC_FORMATS

    return {fmt.name: fmt for fmt in (*AUDIO_FORMATS, *SYMBOLIC_FORMATS)}


FORMATS: dict[str, DataFormat] = _all_formats()


def get_format(name: str) -> DataFormat:
    """Look up a format by name, with an error listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise DataError(f"unknown data format {name!r}; known formats: {', '.join(FORMATS)}") from None


SEARCH_DEPTH = 3  # levels below the given folder searched for a published layout
GENERIC_FORMATS = ("midi-folder",)  # match any folder with MIDI in it: tried only after every specific format
MAX_FOLDERS_PER_LEVEL = 2000  # a bound on the search in huge trees (Lakh's lmd_full has 16 folders per level)


@dataclass(frozen=True)
class Located:
    """Where a data set's layout was found: the folder, its format, and the path below the folder given."""

    folder: Path
    format: str
    subfolder: str  # "" when the layout is at the folder given, else e.g. "maestro-v3.0.0"


def _check_root(root: Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data set folder not found or not a folder: {root}")
    return root


def _subfolders(folder: Path) -> list[Path]:
    """Visible subfolders, sorted; os.scandir reads the entry type from the directory itself (no stat per
    file), so a folder of 100,000 MIDI files lists in milliseconds."""
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
    except OSError:
        return []
    return [folder / name for name in sorted(names)]


def _levels(root: Path) -> list[list[Path]]:
    """The folder and its subfolders by depth (0..SEARCH_DEPTH), sorted; hidden folders (caches) skipped."""
    levels, current = [[root]], [root]
    for _ in range(SEARCH_DEPTH):
        below: list[Path] = []
        for folder in current:
            below.extend(_subfolders(folder))
            if len(below) > MAX_FOLDERS_PER_LEVEL:
                break
        if not below:
            break
        levels.append(below[:MAX_FOLDERS_PER_LEVEL])
        current = below[:MAX_FOLDERS_PER_LEVEL]
    return levels


def locate_dataset(root: Path, fmt: str | None = None, model_key: str | None = None) -> Located:
    """The shallowest folder at or below `root` (up to SEARCH_DEPTH levels) holding a recognised layout.

    The one resolution path for validate, register, upload and train, so they never disagree. With `fmt`, only
    that format; with `model_key`, only formats that feed it. At each depth the most specific formats win;
    the generic `midi-folder` is tried only when no specific layout exists at any depth.
    """
    root = _check_root(root)
    if model_key is not None:
        get_spec(model_key)
    candidates = [get_format(fmt)] if fmt else [f for f in FORMATS.values() if model_key in (None, *f.models)]
    if fmt and model_key is not None and model_key not in candidates[0].models:
        raise DataError(f"format {fmt!r} feeds {', '.join(candidates[0].models)}, not {model_key}")
    levels = _levels(root)
    for formats in ([f for f in candidates if f.name not in GENERIC_FORMATS],
                    [f for f in candidates if f.name in GENERIC_FORMATS]):  # fmt: skip
        for level in levels:
            for data_format in formats:
                for folder in level:
                    if data_format.detect(folder):
                        return Located(
                            folder, data_format.name, "" if folder == root else folder.relative_to(root).as_posix()
                        )
    wanted = f" for {model_key}" if model_key else ""
    if fmt:
        expected = candidates[0].download_info.strip().splitlines()[0]
        raise DataError(
            f"no {fmt} layout in {root} nor in the {SEARCH_DEPTH} levels below it; expected: {expected} "
            f"(see `mltrain datasets download-info {fmt}`)"
        )
    raise DataError(
        f"could not recognise a data set layout{wanted} in {root} nor in the {SEARCH_DEPTH} levels below it; "
        f"pass --format (one of {', '.join(FORMATS)}) or see `mltrain datasets download-info`"
    )


def detect_format(root: Path, model_key: str | None = None) -> str:
    """The format of the data set at or below `root` (see `locate_dataset`)."""
    return locate_dataset(root, None, model_key).format


def validate_dataset(root: Path, fmt: str | None = None, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Scan the data set at or below `root` and report usable and skipped files (and the subfolder used)."""
    located = locate_dataset(root, fmt)
    started = time.perf_counter()
    report = get_format(located.format).scan(located.folder, options)
    report.scan_seconds = round(time.perf_counter() - started, 3)
    if located.subfolder:
        report.subfolder = located.subfolder
        report.warnings.insert(0, f"using the {located.format} data set found in {located.subfolder}/")
    return report


def load_dataset(
    root: Path, model_key: str, fmt: str | None = None, options: LoadOptions | None = None
) -> ArrayDataset:
    """Load the data set at or below `root` as arrays for `model_key` (see `locate_dataset`)."""
    located = locate_dataset(root, fmt, model_key)
    dataset = get_format(located.format).load(located.folder, model_key, options or LoadOptions())
    if located.subfolder:
        dataset.info["subfolder"] = located.subfolder
    return dataset
