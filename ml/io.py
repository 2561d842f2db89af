"""Atomic file writes: write to a temporary file beside the target, fsync, then rename over it."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_path(target: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path in target's folder; on success it replaces target, on error it is removed.

    durable=False skips the fsync: still all-or-nothing for readers, but a power loss may lose the file (fine for
    caches, whose entries are verified on read and recomputed).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(target: Path, writer: Callable[[IO[bytes]], object]) -> None:
    """Write target atomically with a callback that receives a binary file object."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        writer(handle)


def write_json_atomic(target: Path, data: Any, *, indent: int | None = 2) -> None:
    """Write JSON atomically; NaN/Infinity are refused (RTNeural's parser rejects them too)."""
    text = json.dumps(data, indent=indent, allow_nan=False)
    write_atomic(target, lambda handle: handle.write(text.encode()))


def file_sha256(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
