"""Checking many files fast: the per-file check of a scan through the feature cache, on all cores, with progress.

A scan (validation) parses every file of a data set once to say which are usable. For a big corpus (Lakh: 178k
MIDI files) that is the slow part, so the per-file outcome (a duration, or the reason the file is skipped) is
cached by content like any feature (`ml.data.cache`), and the files are checked in chunks by a pool of processes
when there are enough of them to pay for starting it. Outcomes come back in the files' order, so a report does
not depend on how many processes made it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.data.base import ScanOptions, ScanProgress

Outcome = float | str  # a usable file's duration in seconds, or why it is skipped
Check = Callable[[Path], dict[str, np.ndarray]]  # -> {"duration": [s]} or {"error": reason}

POOL_THRESHOLD = 256  # fewer files than this are checked in-process: a pool costs ~1 s to start
CHUNK_FILES = 128  # files per pool task: small enough for smooth progress, big enough to amortise pickling


@dataclass(frozen=True)
class FileCheck:
    """A per-file check and the settings that key its cache entries (they carry the code's versions)."""

    settings: Mapping[str, Any]
    check: Check


def default_workers() -> int:
    """The cores this process may use (its CPU affinity, which containers and taskset narrow)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def check_files(paths: Sequence[Path], check: FileCheck, options: ScanOptions, *, counted: int = 0) -> list[Outcome]:
    """The outcome of `check` for every path, in order; `options.progress` hears after each chunk.

    `counted` files were already seen before these (skipped while listing), so progress counts them too.
    """
    tracker = _Tracker(len(paths) + counted, counted, options)
    tracker.report()
    if options.workers <= 1 or len(paths) < POOL_THRESHOLD:
        outcomes: list[Outcome] = []
        for start in range(0, len(paths), CHUNK_FILES):
            chunk = _check_chunk(list(paths[start : start + CHUNK_FILES]), check, options.cache_dir)
            outcomes.extend(chunk)
            tracker.add(chunk)
        return outcomes
    chunks = [list(paths[start : start + CHUNK_FILES]) for start in range(0, len(paths), CHUNK_FILES)]
    results: list[list[Outcome] | None] = [None] * len(chunks)
    # forkserver, not fork: the caller may hold threads (a job's lease heartbeat) and locks a fork would copy.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=min(options.workers, len(chunks)), mp_context=context) as pool:
        pending: dict[Future[list[Outcome]], int] = {
            pool.submit(_check_chunk, chunk, check, options.cache_dir): index for index, chunk in enumerate(chunks)
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    results[index] = future.result()
                    tracker.add(results[index] or [])
        except BaseException:  # a cancel from the progress callback, or a crash: drop the queued chunks
            for future in pending:
                future.cancel()
            raise
    return [outcome for chunk in results for outcome in chunk or []]


def _check_chunk(paths: list[Path], check: FileCheck, cache_dir: Path | None) -> list[Outcome]:
    """Outcomes of one chunk (runs in a pool process or in-process)."""
    from ml.data.cache import FeatureCache

    cache = FeatureCache(cache_dir)
    outcomes: list[Outcome] = []
    for path in paths:
        try:
            arrays = cache.get_or_compute(path, check.settings, check.check)
        except OSError as exc:  # vanished or unreadable since it was listed
            outcomes.append(f"unreadable: {exc.strerror or exc}")
            continue
        if "error" in arrays:
            outcomes.append(str(arrays["error"]))
        else:
            outcomes.append(float(np.asarray(arrays["duration"]).reshape(-1)[0]))
    return outcomes


class _Tracker:
    """Running counts for the progress callback."""

    def __init__(self, total: int, seen: int, options: ScanOptions) -> None:
        self.options = options
        self.progress = ScanProgress(files_total=total, files_seen=seen, usable=0, skipped=seen)

    def add(self, chunk: list[Outcome]) -> None:
        usable = sum(1 for outcome in chunk if isinstance(outcome, float))
        self.progress.files_seen += len(chunk)
        self.progress.usable += usable
        self.progress.skipped += len(chunk) - usable
        self.report()

    def report(self) -> None:
        if self.options.progress is not None:
            self.options.progress(self.progress)
