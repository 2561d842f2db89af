"""A labels file that matches none of the data set's files is refused with the fix, not silently ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.data import FORMATS, LoadOptions
from ml.errors import DataError
from tests.fixtures import midi_sets


def test_labels_file_matching_no_file_names_the_fix(tmp_path: Path) -> None:
    root = midi_sets.lakh_full(tmp_path / "lmd")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"some_other_song.mid": {"valence": 0.1, "arousal": 0.2}}))
    with pytest.raises(DataError) as caught:
        FORMATS["lakh"].load(root, "melody_transformer", LoadOptions(labels_file=labels))
    message = str(caught.value)
    assert f"the labels file covers none of the {len(midi_sets.MD5S)} files" in message
    assert "its keys look like: some_other_song.mid" in message
    assert "relative to" in message and "its name or its stem" in message
