"""The object store: where job outputs, checkpoints and uploaded data sets live (a local folder or S3).

Keys are relative POSIX paths (`jobs/<id>/<name>`, `datasets/<id>/...`), the same strings the artifact rows
record, so switching MLTRAIN_OBJECT_URL needs no schema change. The S3 backend is imported only when an `s3://`
URL is opened: with the default local folder, the API and the CLI never import boto3.
"""

from __future__ import annotations

import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import Settings

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key (relative to the store's root), size and a tag that changes with its content."""

    key: str
    size: int
    etag: str


def check_key(key: str, *, prefix: bool = False) -> str:
    """`key` if it is a relative POSIX path without `..` or empty parts, else ValueError (`prefix`: "" or "a/")."""
    body = key[:-1] if prefix and key.endswith("/") else key
    if prefix and body == "":
        return key
    pure = PurePosixPath(body)
    if not body or body.startswith("/") or "\\" in body or str(pure) != body or ".." in pure.parts:
        raise ValueError(f"not an object key: {key!r}")
    return key


class ObjectStore(ABC):
    """put / get / stream / stat / list / delete by key; `url` names where the store (or one key) lives."""

    url: str

    @abstractmethod
    def put_file(self, key: str, source: Path) -> ObjectInfo:
        """Store the file `source` as `key` (replacing it whole: readers never see half a file)."""

    @abstractmethod
    def get_file(self, key: str, target: Path) -> None:
        """Write `key` to `target` atomically (FileNotFoundError if absent)."""

    @abstractmethod
    def open_read(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; FileNotFoundError at the call (not mid-stream) if it is absent."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and tag, or None if there is none."""

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object under the folder-like `prefix` ("" or ending in "/"), by key."""

    @abstractmethod
    def delete(self, prefix: str) -> None:
        """Remove every object under the folder-like `prefix` (nothing there is fine)."""

    @abstractmethod
    def key_url(self, key: str) -> str:
        """A URL naming `key` (what a data set row records for an uploaded set)."""

    def exists(self, key: str) -> bool:
        """True if `key` is stored."""
        return self.stat(key) is not None

    def local_path(self, key: str) -> Path | None:
        """The file or folder behind `key` when the store is a folder on this machine; None for remote stores."""
        return None


class LocalStore(ObjectStore):
    """A folder on this machine (MLTRAIN_OBJECT_DIR): today's layout, shared only through a shared file system."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.url = self.root.as_uri()

    def local_path(self, key: str) -> Path:
        """`root/key`, resolved; ValueError if it would leave the root (a symlink pointing out, too)."""
        path = (self.root / check_key(key, prefix=True)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"{key!r} leaves the object folder")
        return path

    def _info(self, key: str, path: Path) -> ObjectInfo:
        stat = path.stat()
        return ObjectInfo(key=key, size=stat.st_size, etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}")

    def put_file(self, key: str, source: Path) -> ObjectInfo:
        """Copy into the folder via a temporary name; a file already in place is left as it is."""
        target = self.local_path(check_key(key))
        if source.resolve() != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
            shutil.copyfile(source, partial)
            partial.replace(target)
        return self._info(key, target)

    def get_file(self, key: str, target: Path) -> None:
        """Copy out of the folder via a temporary name."""
        path = self.local_path(check_key(key))
        if not path.is_file():
            raise FileNotFoundError(key)
        if path == target.resolve():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        shutil.copyfile(path, partial)
        partial.replace(target)

    def open_read(self, key: str) -> Iterator[bytes]:
        """Chunks of the file, opened now so a missing file fails before a response starts."""
        path = self.local_path(check_key(key))
        if not path.is_file():
            raise FileNotFoundError(key)
        handle = path.open("rb")

        def chunks() -> Iterator[bytes]:
            with handle:
                while block := handle.read(CHUNK_BYTES):
                    yield block

        return chunks()

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and mtime tag of the file, None if it is not a file."""
        path = self.local_path(check_key(key))
        return self._info(key, path) if path.is_file() else None

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Files below the folder, skipping dot-files (temporary files of atomic writes)."""
        folder = self.local_path(check_key(prefix, prefix=True))
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(self.root)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                found.append(self._info(relative.as_posix(), path))
        return found

    def delete(self, prefix: str) -> None:
        """Remove the folder (or file) under the prefix."""
        path = self.local_path(check_key(prefix, prefix=True))
        if path == self.root:
            raise ValueError("refusing to delete the whole object folder")
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()

    def key_url(self, key: str) -> str:
        """A file:// URL."""
        return self.local_path(key).as_uri()


def is_url(value: str) -> bool:
    """True for an `s3://` URL (a data-set path that lives in a bucket, not on this machine's disk)."""
    return value.startswith("s3://")


@lru_cache(maxsize=32)
def open_store(url: str, endpoint_url: str | None = None) -> ObjectStore:
    """The store at `url`: `s3://bucket/prefix` (S3 or MinIO at `endpoint_url`), `file:///folder` or a path."""
    if is_url(url):
        from app.storage_s3 import S3Store  # boto3 only for S3 URLs: the local default stays import-light

        return S3Store.from_url(url, endpoint_url)
    if url.startswith("file://"):
        return LocalStore(Path(url.removeprefix("file://")))
    if "://" in url:
        raise ValueError(f"unsupported object store URL {url!r}: use s3://bucket/prefix or a local folder")
    return LocalStore(Path(url))


def store_for(settings: Settings) -> ObjectStore:
    """The store the settings name (MLTRAIN_OBJECT_URL, else the folder MLTRAIN_OBJECT_DIR)."""
    return open_store(settings.store_url, settings.s3_endpoint())
