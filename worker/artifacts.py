"""Describe the files of a job's output folder as artifact records (size, sha256, kind, content type)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.objects import artifact_kind, content_type
from ml.io import file_sha256


def describe_outputs(folder: Path, prefix: str) -> list[dict[str, Any]]:
    """Artifact fields for every finished file in `folder`, stored under `prefix` (`jobs/<id>/`); temporary files
    of atomic writes and the sync manifest (dot-files) are skipped."""
    rows = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        sha256, size = file_sha256(path)
        rows.append(
            {
                "name": path.name,
                "kind": artifact_kind(path.name),
                "size": size,
                "sha256": sha256,
                "path": prefix + path.name,
                "content_type": content_type(path.name),
            }
        )
    return rows
