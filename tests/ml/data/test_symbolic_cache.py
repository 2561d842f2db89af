"""A second preparation of a MIDI data set parses no MIDI: every file is a FeatureCache hit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.data.base import LoadOptions
from ml.data.symbolic import SYMBOLIC_FORMATS
from tests.fixtures import midi_sets

pytest.importorskip("ml.data.cache")
FORMATS = {f.name: f for f in SYMBOLIC_FORMATS}


@pytest.mark.parametrize(
    ("name", "writer"),
    [("maestro", midi_sets.maestro), ("emopia", midi_sets.emopia), ("groove-midi", midi_sets.groove_midi)],
)
def test_second_load_hits_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, writer) -> None:
    root = writer(tmp_path / name)
    fmt = FORMATS[name]
    options = LoadOptions(cache_dir=tmp_path / "cache")
    first = fmt.load(root, fmt.models[0], options)
    assert first.info["cache"]["misses"] > 0 and first.info["cache"]["hits"] == 0

    def no_parsing(path: Path) -> dict:
        raise AssertionError(f"MIDI parsed on the cached pass: {path}")

    import ml.data.symbolic.common as common

    monkeypatch.setattr(common, "parse_midi_file", no_parsing)
    second = fmt.load(root, fmt.models[0], options)
    assert second.info["cache"]["misses"] == 0
    assert second.info["cache"]["hits"] == first.info["cache"]["misses"]  # corrupt files are cached as skipped
    np.testing.assert_array_equal(first.inputs, second.inputs)
    np.testing.assert_array_equal(first.targets, second.targets)
    assert second.info["skipped"] == first.info["skipped"]
