"""Object names: server-chosen ids and file names, the store keys built from them, artifact kinds and types."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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
    """Where a file lives in the object store (its key) and what it holds."""

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
    """`OBJECT_DIR/jobs/<job_id>`: a job's files in a local object folder (the store's key `jobs/<id>/`)."""
    return object_dir / "jobs" / check_id(job_id)


def dataset_folder(object_dir: Path, dataset_id: str) -> Path:
    """`OBJECT_DIR/datasets/<dataset_id>`: where an uploaded archive is unpacked."""
    return object_dir / "datasets" / check_id(dataset_id)


def job_prefix(job_id: str) -> str:
    """`jobs/<job_id>/`: the contract's place for a job's files in the object store."""
    return f"jobs/{check_id(job_id)}/"


def dataset_prefix(dataset_id: str) -> str:
    """`datasets/<dataset_id>/`: where an uploaded archive's unpacked folder is stored."""
    return f"datasets/{check_id(dataset_id)}/"


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
