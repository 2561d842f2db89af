"""The files of one exported model, side by side: `MODEL.json`, `MODEL.io.json` and `MODEL.modelt.h`.

A training folder holds them as `<model_key>.json`, `<model_key>.io.json` and `<model_key>.modelt.h`;
`mltrain export --output X.json` writes `X.io.json` and `X.modelt.h` beside it. `export_paths` is how other code
(the plugin bundle) finds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from ml.export.cpp_types import modelt_header
from ml.export.golden import golden_vectors
from ml.io import write_atomic, write_json_atomic
from ml.normalize import FeatureNormalizer

if TYPE_CHECKING:  # the paths are read by the torch-free bundle; only writing an export needs a model
    from ml.models import LayerStack

GOLDEN_SUFFIX = ".io.json"
HEADER_SUFFIX = ".modelt.h"


@dataclass(frozen=True)
class ExportPaths:
    """Where one model's export files live."""

    model: Path  # the RTNeural JSON
    golden: Path  # golden input/output vectors
    header: Path  # the ModelT C++ type

    def names(self) -> list[str]:
        """File names, model JSON first."""
        return [self.model.name, self.golden.name, self.header.name]

    def existing(self) -> list[Path]:
        """The ones present on disk."""
        return [p for p in (self.model, self.golden, self.header) if p.is_file()]


def export_paths(model_json: Path) -> ExportPaths:
    """The golden-vector and header paths that go with a model JSON path (`X.json` -> `X.io.json`, `X.modelt.h`)."""
    model_json = Path(model_json)
    stem = model_json.name[: -len(".json")] if model_json.name.endswith(".json") else model_json.name
    return ExportPaths(
        model_json, model_json.with_name(stem + GOLDEN_SUFFIX), model_json.with_name(stem + HEADER_SUFFIX)
    )


def job_export_paths(folder: Path, model_key: str) -> ExportPaths:
    """The export files of `model_key` in a training (job) folder."""
    return export_paths(Path(folder) / f"{model_key}.json")


def write_export(
    doc: dict[str, Any],
    model: LayerStack,
    normalizer: FeatureNormalizer | None,
    model_json: Path,
    *,
    sample_rows: npt.ArrayLike | None = None,
    rows_source: str | None = None,
) -> ExportPaths:
    """Write the verified `doc`, its golden vectors and its ModelT header beside each other; returns the paths."""
    from ml.export.rtneural import write_rtneural

    paths = export_paths(model_json)
    # Everything is computed before anything is written, so a failure leaves no partial set behind.
    golden = golden_vectors(doc, model, normalizer, sample_rows, rows_source=rows_source)
    header = modelt_header(doc, json_name=paths.model.name)
    write_rtneural(doc, paths.model)
    write_json_atomic(paths.golden, golden, indent=None)
    write_atomic(paths.header, lambda handle: handle.write(header.encode()))
    return paths


def read_golden(path: Path) -> dict[str, Any]:
    """Load a `MODEL.io.json`."""
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data
