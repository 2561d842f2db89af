"""Real data: readers for the public music data sets, features, cache, augmentation and validation."""

from ml.data.base import DataFormat, LoadOptions, ScanOptions, ScanProgress, SkippedFile, ValidationReport
from ml.data.registry import (
    FORMATS,
    Located,
    detect_format,
    get_format,
    load_dataset,
    locate_dataset,
    validate_dataset,
)

__all__ = [
    "FORMATS",
    "DataFormat",
    "LoadOptions",
    "Located",
    "ScanOptions",
    "ScanProgress",
    "SkippedFile",
    "ValidationReport",
    "detect_format",
    "get_format",
    "load_dataset",
    "locate_dataset",
    "validate_dataset",
]
