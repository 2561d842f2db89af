"""Mirror a store prefix and a local folder, moving only what changed (a manifest of ETags in the folder).

Workers train into a local folder and push it after each checkpoint; a resumed job, an evaluate job, the API's
bundle and a data-set cache pull. The manifest (`.store-sync.json`, a dot-file: never an artifact) records, per
file, the store's ETag and the local size + mtime it had when the two were last equal, so a repeat pull is one
listing and a push after a checkpoint sends only the files that checkpoint changed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.storage import ObjectStore, check_key

MANIFEST = ".store-sync.json"
LOCK = ".store-sync.lock"


def _same_place(store: ObjectStore, prefix: str, folder: Path) -> bool:
    """True when the store is this very folder (the local default with the work folder = the object folder)."""
    local = store.local_path(prefix)
    return local is not None and local == folder.resolve()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One sync of a folder at a time on this machine (two workers pulling one data set, two bundle requests)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(folder: Path, manifest: dict[str, dict[str, Any]]) -> None:
    partial = folder / f"{MANIFEST}.{os.getpid()}.part"
    partial.write_text(json.dumps(manifest, sort_keys=True))
    partial.replace(folder / MANIFEST)


def _local_state(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _unchanged(entry: dict[str, Any] | None, path: Path) -> bool:
    state = _local_state(path)
    return entry is not None and state is not None and (entry["size"], entry["mtime_ns"]) == state


def pull(store: ObjectStore, prefix: str, folder: Path, *, keep: Callable[[str], bool] | None = None) -> int:
    """Make `folder` hold every object under `prefix` (those whose relative name `keep` accepts); returns how
    many were downloaded. Files the manifest knows but the store no longer has are removed."""
    check_key(prefix, prefix=True)
    if _same_place(store, prefix, folder):
        return 0
    with _locked(folder):
        manifest = _read_manifest(folder)
        fetched, seen = 0, set()
        for info in store.list(prefix):
            name = info.key[len(prefix) :]
            if keep is not None and not keep(name):
                continue
            seen.add(name)
            entry, target = manifest.get(name), folder / name
            if entry is not None and entry["etag"] == info.etag and _unchanged(entry, target):
                continue
            store.get_file(info.key, target)
            size, mtime_ns = target.stat().st_size, target.stat().st_mtime_ns
            manifest[name] = {"etag": info.etag, "size": size, "mtime_ns": mtime_ns}
            fetched += 1
        for name in set(manifest) - seen:
            if keep is None or keep(name):
                (folder / name).unlink(missing_ok=True)
                del manifest[name]
        _write_manifest(folder, manifest)
    return fetched


def push(store: ObjectStore, folder: Path, prefix: str, *, keep: Callable[[str], bool] | None = None) -> int:
    """Upload every file of `folder` (recursively, dot-files skipped) that changed since it was last synced to
    `prefix`; returns how many were uploaded."""
    check_key(prefix, prefix=True)
    if _same_place(store, prefix, folder) or not folder.is_dir():
        return 0
    with _locked(folder):
        manifest = _read_manifest(folder)
        sent = 0
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if not path.is_file() or any(part.startswith(".") for part in name.split("/")):
                continue
            if (keep is not None and not keep(name)) or _unchanged(manifest.get(name), path):
                continue
            state = _local_state(path)
            info = store.put_file(prefix + name, path)
            if state is not None:  # the size + mtime read before the upload: a later rewrite is pushed next time
                manifest[name] = {"etag": info.etag, "size": state[0], "mtime_ns": state[1]}
            sent += 1
        _write_manifest(folder, manifest)
    return sent
