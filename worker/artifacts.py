"""Describe the files of a job's output folder as artifact records (size, sha256, kind, content type)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

KINDS = {
    "metrics.json": "metrics",
    "evaluation.json": "evaluation",
    "export_report.json": "export_report",
    "loss_curve.png": "plot",
}
CONTENT_TYPES = {".json": "application/json", ".png": "image/png", ".pt": "application/octet-stream"}


def file_sha256(path: Path) -> str:
    """sha256 hex of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_kind(name: str) -> str:
    """model_json | checkpoint | metrics | evaluation | export_report | plot | other."""
    if name in KINDS:
        return KINDS[name]
    if name.endswith(".pt"):
        return "checkpoint"
    if name.endswith(".json"):
        return "model_json"
    return "other"


def describe_outputs(folder: Path, object_dir: Path) -> list[dict[str, Any]]:
    """Artifact fields for every finished file in `folder` (temporary files of atomic writes are skipped)."""
    rows = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        rows.append(
            {
                "name": path.name,
                "kind": artifact_kind(path.name),
                "size": path.stat().st_size,
                "sha256": file_sha256(path),
                "path": str(path.resolve().relative_to(object_dir.resolve())),
                "content_type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            }
        )
    return rows
