"""The contract every data-set format implements: detect, scan (validate) and load into an ArrayDataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ml.config import AugmentationConfig
from ml.dataset import ArrayDataset


@dataclass
class SkippedFile:
    """A file found but not used, and why (unreadable, too short, no notes, label missing, duplicate...)."""

    path: str
    reason: str


@dataclass
class ValidationReport:
    """What a scan of a data-set folder found: the body of `mltrain datasets validate` and POST /datasets."""

    format: str
    root: str
    models: list[str]
    files_found: int = 0
    usable: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    duration_seconds: dict[str, float] = field(default_factory=dict)  # total, min, max (audio/MIDI)
    label_ranges: dict[str, list[float]] = field(default_factory=dict)  # e.g. valence: [min, max]
    splits: dict[str, int] = field(default_factory=dict)  # published split sizes, if any
    warnings: list[str] = field(default_factory=list)
    subfolder: str = ""  # where below the folder given the layout was found ("" = the folder itself)
    scan_seconds: float = 0.0  # how long the scan took (the per-file checks are cached by content)

    @property
    def ok(self) -> bool:
        """True if at least one file is usable."""
        return self.usable > 0

    def skip(self, path: Path | str, reason: str) -> None:
        """Record one skipped file."""
        self.skipped.append(SkippedFile(str(path), reason))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class ScanProgress:
    """Where a scan is: files listed, checked so far, and how many of those are usable or skipped."""

    files_total: int
    files_seen: int
    usable: int
    skipped: int

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: a feature cache for per-file outcomes, processes to use, a progress callback.

    `progress` is called after every chunk of files; it may raise to abandon the scan (a cancelled validation).
    """

    cache_dir: Path | None = None
    workers: int = 1
    progress: Callable[[ScanProgress], None] | None = None


NO_SCAN_OPTIONS = ScanOptions()


class Scan(Protocol):
    """A format's scan: validate every file of the data set at `root` without computing features."""

    def __call__(self, root: Path, options: ScanOptions = NO_SCAN_OPTIONS, /) -> ValidationReport: ...


@dataclass
class LoadOptions:
    """How to turn files into arrays: cache location, augmentation (training split only), seed."""

    cache_dir: Path | None = None
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    seed: int = 42
    labels_file: Path | None = None  # optional emotion labels for unlabelled sets (Lakh, Groove MIDI)
    lookahead_seconds: float = 0.0  # dynamics_engine inputs may see notes starting up to this long after the onset


@dataclass(frozen=True)
class DataFormat:
    """One named on-disk layout (`deam`, `maestro`, ...) and the models it can feed."""

    name: str
    models: tuple[str, ...]
    description: str
    detect: Callable[[Path], bool]  # cheap: does this folder look like this format?
    scan: Scan  # validate every file without computing features
    load: Callable[[Path, str, LoadOptions], ArrayDataset]  # (root, model_key, options) -> arrays
    download_info: str  # where to get it and the layout expected
