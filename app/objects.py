"""The object folder: server-chosen names, sha256 + size of stored files, and joins that cannot escape it."""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.errors import NotFound
from ml.io import file_sha256

_ID = re.compile(r"^[0-9a-f]{32}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
CONTENT_TYPES = {
    ".json": "application/json",
    ".png": "image/png",
    ".pt": "application/octet-stream",
    ".h": "text/x-c++hdr; charset=utf-8",
    ".zip": "application/zip",
}
KINDS = {
    "metrics.json": "metrics",
    "evaluation.json": "evaluation",
    "export_report.json": "export_report",
    "loss_curve.png": "plot",
    "plugin-models.zip": "bundle",
}
# Suffixes of the export files beside each model JSON (ml.export.files), checked before the generic `.json`.
SUFFIX_KINDS = ((".io.json", "golden_vectors"), (".modelt.h", "cpp_header"))


@dataclass(frozen=True)
class StoredFile:
    """Where a file lives in the object folder (relative path) and what it holds."""

    path: str
    size: int
    sha256: str


def new_id() -> str:
    """A server-chosen object id (uuid4 hex): never derived from client input."""
    return uuid.uuid4().hex


def check_id(value: str) -> str:
    """`value` if it is a server-chosen id, else ValueError (ids become folder names)."""
    if not _ID.fullmatch(value):
        raise ValueError(f"not an object id: {value!r}")
    return value


def check_name(value: str) -> str:
    """`value` if it is a plain file name (no separators, no leading dot), else ValueError."""
    if not _NAME.fullmatch(value) or value in {".", ".."}:
        raise ValueError(f"not a plain file name: {value!r}")
    return value


def job_folder(object_dir: Path, job_id: str) -> Path:
    """`OBJECT_DIR/jobs/<job_id>` (the contract's place for a job's files)."""
    return object_dir / "jobs" / check_id(job_id)


def dataset_folder(object_dir: Path, dataset_id: str) -> Path:
    """`OBJECT_DIR/datasets/<dataset_id>`: where an uploaded archive is unpacked."""
    return object_dir / "datasets" / check_id(dataset_id)


def resolve_inside(object_dir: Path, relative: str) -> Path:
    """Join a recorded relative path onto the object folder; NotFound if the result would leave it."""
    pure = PurePosixPath(relative)
    base = object_dir.resolve()
    if pure.is_absolute() or ".." in pure.parts:
        raise NotFound("the recorded file lies outside the object folder")
    path = (base / pure).resolve()
    if not path.is_relative_to(base):
        raise NotFound("the recorded file lies outside the object folder")
    return path


def relative_to(object_dir: Path, path: Path) -> str:
    """The path of `path` relative to the object folder, as stored in the database."""
    return path.resolve().relative_to(object_dir.resolve()).as_posix()


def store_file(object_dir: Path, folder: Path, name: str, source: Path | bytes) -> StoredFile:
    """Copy `source` (a file or bytes) to `folder/name` inside the object folder and describe it."""
    target = folder / check_name(name)
    if not target.resolve().is_relative_to(object_dir.resolve()):
        raise ValueError(f"{folder} is not inside the object folder {object_dir}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.part")
    if isinstance(source, bytes):
        partial.write_bytes(source)
    else:
        shutil.copyfile(source, partial)
    partial.replace(target)
    sha256, size = file_sha256(target)
    return StoredFile(path=relative_to(object_dir, target), size=size, sha256=sha256)


def artifact_kind(name: str) -> str:
    """model_json | golden_vectors | cpp_header | checkpoint | metrics | evaluation | export_report | plot | bundle
    | other."""
    if name in KINDS:
        return KINDS[name]
    for suffix, kind in SUFFIX_KINDS:
        if name.endswith(suffix):
            return kind
    if name.endswith(".pt"):
        return "checkpoint"
    if name.endswith(".json"):
        return "model_json"
    return "other"


def content_type(name: str) -> str:
    """By suffix: JSON, PNG, C++ header, zip; application/octet-stream for everything else."""
    return CONTENT_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
