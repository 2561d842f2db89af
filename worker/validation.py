"""A validate job: scan a registered data set's files on every core, through the feature cache, with progress."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings
from ml.data import ScanOptions, ScanProgress, validate_dataset
from ml.data.scan import default_workers

if TYPE_CHECKING:
    from worker.runner import JobCallbacks


class ScanStopped(Exception):
    """The job was cancelled (its data set deleted) or its lease lost: abandon the scan."""


def run_validation(
    folder: Path, fmt: str, subfolder: str, settings: Settings, callbacks: JobCallbacks
) -> dict[str, Any]:
    """The scan's report as the job result ({} when stopped: the caller reads callbacks.stop_reason).

    `folder` is where registration located the layout, `subfolder` its path below the folder the user gave.
    """

    def progress(update: ScanProgress) -> None:
        if callbacks.should_stop():
            raise ScanStopped
        fraction = update.files_seen / update.files_total if update.files_total else 0.0
        callbacks.progress.update(progress=fraction, latest_metrics=update.to_dict())
        callbacks.flush()

    options = ScanOptions(
        cache_dir=settings.work_root / "cache", workers=settings.scan_workers or default_workers(), progress=progress
    )
    try:
        report = validate_dataset(folder, fmt, options)
    except ScanStopped:
        return {}
    if subfolder:
        report.subfolder = subfolder
        report.warnings.insert(0, f"using the {fmt} data set found in {subfolder}/")
    totals = {"files_total": report.files_found, "files_seen": report.files_found}
    callbacks.progress.update(progress=1.0, latest_metrics={**totals, "usable": report.usable,
                                                            "skipped": len(report.skipped)})  # fmt: skip
    return {"report": report.to_dict()}
