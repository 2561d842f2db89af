"""All known data-set formats by name, format detection, and the two entry points: load and validate."""

from __future__ import annotations

from pathlib import Path

from ml.data.base import DataFormat, LoadOptions, ValidationReport
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


def _check_root(root: Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data set folder not found or not a folder: {root}")
    return root


def detect_format(root: Path, model_key: str | None = None) -> str:
    """The first format whose detector recognises `root` (and that feeds `model_key`, if given)."""
    root = _check_root(root)
    for fmt in FORMATS.values():
        if model_key is not None and model_key not in fmt.models:
            continue
        if fmt.detect(root):
            return fmt.name
    wanted = f" for {model_key}" if model_key else ""
    raise DataError(
        f"could not recognise the data set layout in {root}{wanted}; pass --format (one of {', '.join(FORMATS)})"
    )


def validate_dataset(root: Path, fmt: str | None = None) -> ValidationReport:
    """Scan a folder in the given (or detected) format and report usable and skipped files."""
    root = _check_root(root)
    return get_format(fmt or detect_format(root)).scan(root)


def load_dataset(
    root: Path, model_key: str, fmt: str | None = None, options: LoadOptions | None = None
) -> ArrayDataset:
    """Load `root` as arrays for `model_key`, detecting the format if none is given."""
    root = _check_root(root)
    get_spec(model_key)
    data_format = get_format(fmt or detect_format(root, model_key))
    if model_key not in data_format.models:
        raise DataError(f"format {data_format.name!r} feeds {', '.join(data_format.models)}, not {model_key}")
    return data_format.load(root, model_key, options or LoadOptions())
