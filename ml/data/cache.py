"""A feature cache keyed by file content and feature settings, so a second job decodes no audio, parses no MIDI.

Entry key = sha256 of the file's bytes + sha256 of the canonical JSON of the settings (which carry an extractor
version). Entries live under `<cache_dir>/<settings hash>/<aa>/<content hash>.arrays`: a JSON line naming the
arrays, then each array in NumPy's .npy format (no pickle; half the read cost of .npz, which matters for small
MIDI entries). Written atomically (without fsync: a lost entry is just recomputed); a corrupt entry is
recomputed. Changed content means a new key, so stale features are never
served.

Hashing every file on every pass is cheap next to decoding (sha256 runs at ~1 GB/s; MP3 decoding plus log-mel at
~3 MB/s), but not free for big corpora, so an index maps (absolute path, size, mtime_ns, ctime_ns, inode) to the
content hash, like make and rsync do with less. Any write to a file moves its ctime, which a user cannot set back
(unlike mtime, which `touch -r` or a restoring copy can), so a rewritten file is re-hashed even with the same size
and modification time; only a change of the system clock between two writes could fool it.
`verify_content=True` re-hashes every file anyway when that matters.

The cache never stops a run: an unreadable entry is recomputed, and an entry that cannot be written (disk full,
read-only folder) is logged once and the features are used without being stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.io import atomic_path
from ml.io import file_sha256 as content_digest

log = logging.getLogger(__name__)
Arrays = dict[str, np.ndarray]


def file_sha256(path: Path) -> str:
    """sha256 hex of a file's bytes."""
    return content_digest(path)[0]


def settings_hash(settings: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of the settings."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class CacheStats:
    """What the cache did: hits served from disk, misses computed, corrupt entries recomputed."""

    hits: int = 0
    misses: int = 0
    recovered: int = 0
    write_errors: int = 0


class FeatureCache:
    """get_or_compute(path, settings, compute) -> arrays; with cache_dir None it always computes."""

    def __init__(self, cache_dir: Path | None, *, verify_content: bool = False) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.verify_content = verify_content
        self.stats = CacheStats()

    def content_hash(self, path: Path) -> str:
        """The file's sha256, through the (path, size, mtime) index unless verify_content is set."""
        if self.cache_dir is None or self.verify_content:
            return file_sha256(Path(path))
        absolute = os.path.abspath(path)
        stat = os.stat(absolute)
        identity = f"{absolute}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0{stat.st_ino}"
        key = hashlib.sha1(identity.encode()).hexdigest()
        index = os.path.join(self.cache_dir, "index", key[:2], key)
        try:
            with open(index) as handle:
                cached = handle.read().strip()
            if len(cached) == 64:
                return cached
        except OSError:
            pass
        digest = file_sha256(Path(absolute))
        self._store(Path(index), lambda tmp: tmp.write_text(digest))
        return digest

    def entry_path(self, path: Path, settings: Mapping[str, Any]) -> Path | None:
        """Where the entry of (file, settings) lives, or None without a cache folder."""
        if self.cache_dir is None:
            return None
        digest = self.content_hash(path)
        return self.cache_dir / _settings_key(settings) / digest[:2] / f"{digest}.arrays"

    def get_or_compute(self, path: Path, settings: Mapping[str, Any], compute: Callable[[Path], Arrays]) -> Arrays:
        """Cached arrays of `compute(path)` under `settings`; computed and stored on a miss."""
        entry = self.entry_path(path, settings)
        if entry is not None and entry.exists():
            try:
                arrays = _read_arrays(entry)
                self.stats.hits += 1
                return arrays
            except Exception as exc:  # any unreadable entry (truncated, garbage, foreign) is recomputed
                log.warning("cache entry %s is corrupt (%s); recomputing", entry, exc)
                self.stats.recovered += 1
        arrays = compute(Path(path))
        self.stats.misses += 1
        if entry is not None:
            self._store(entry, lambda tmp: _write_arrays(tmp, arrays))
        return arrays

    def _store(self, target: Path, write: Callable[[Path], object]) -> None:
        """Write a cache file atomically; a failure is logged once per cache and never raised."""
        try:
            with atomic_path(target, durable=False) as tmp:
                write(tmp)
        except OSError as exc:
            if not self.stats.write_errors:
                log.warning("cannot write to the feature cache %s (%s); not storing", self.cache_dir, exc)
            self.stats.write_errors += 1


def _write_arrays(path: Path, arrays: Arrays) -> None:
    with path.open("wb") as handle:
        handle.write((json.dumps(list(arrays)) + "\n").encode())
        for name in arrays:
            np.lib.format.write_array(handle, np.asarray(arrays[name]), allow_pickle=False)


def _read_arrays(path: Path) -> Arrays:
    with path.open("rb") as handle:
        names = json.loads(handle.readline())
        if not isinstance(names, list):
            raise ValueError("bad entry header")
        return {str(name): np.lib.format.read_array(handle, allow_pickle=False) for name in names}


_SETTINGS_KEYS: dict[str, str] = {}


def _settings_key(settings: Mapping[str, Any]) -> str:
    """First 16 hex digits of settings_hash, memoised by the canonical JSON (called once per file)."""
    canonical = json.dumps(settings, sort_keys=True, default=str)
    if canonical not in _SETTINGS_KEYS:
        _SETTINGS_KEYS[canonical] = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return _SETTINGS_KEYS[canonical]
