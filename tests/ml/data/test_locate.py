"""Data sets found where users unpack them: at the folder given or a few levels below, the same way for
validate, load and train; DEAM's mirrored layout; clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ml.cli.main import main
from ml.config import TrainConfig
from ml.data import FORMATS, LoadOptions, load_dataset, locate_dataset, validate_dataset
from ml.errors import DataError
from ml.pipeline import DataSource, load_training_data
from tests.fixtures import midi_sets
from tests.fixtures.audio_sets import write_deam

WRITERS = {
    "maestro": (midi_sets.maestro, "dynamics_engine"),
    "emopia": (midi_sets.emopia, "melody_transformer"),
    "groove-midi": (midi_sets.groove_midi, "groove_predictor"),
    "chords-json": (midi_sets.chords_json, "harmony_predictor"),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("depth", [0, 1, 2])
def test_each_format_is_found_at_depth_0_1_and_2(tmp_path: Path, name: str, depth: int) -> None:
    writer, model = WRITERS[name]
    parts = ["Downloads", f"{name}-v1.0.0"][:depth]
    top = tmp_path / "data"
    writer(top.joinpath(*parts))
    located = locate_dataset(top)
    assert located.format == name and located.subfolder == "/".join(parts)
    report = validate_dataset(top)
    direct = FORMATS[name].scan(located.folder)
    assert (report.format, report.usable, report.subfolder) == (name, direct.usable, "/".join(parts))
    loaded = load_dataset(top, model)
    trained_on = load_training_data(model, DataSource(datasets_dir=top), TrainConfig())
    np.testing.assert_array_equal(loaded.inputs, FORMATS[name].load(located.folder, model, LoadOptions()).inputs)
    np.testing.assert_array_equal(loaded.inputs, trained_on.inputs)


def test_mirrored_deam_layout_trains_instead_of_crashing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    published = write_deam(tmp_path / "published")
    mirror = tmp_path / "DEAM"
    (mirror / "DEAM_audio").mkdir(parents=True)
    shutil.move(str(published / "MEMD_audio"), str(mirror / "DEAM_audio" / "MEMD_audio"))
    shutil.move(str(published / "annotations"), str(mirror / "DEAM_Annotations" / "annotations"))
    assert locate_dataset(mirror).format == "deam"
    assert validate_dataset(mirror, "deam").usable == 5
    assert main(["datasets", "validate", str(mirror)]) == 0
    assert "usable 5" in capsys.readouterr().out


def test_generic_midi_folder_loses_to_a_published_layout_deeper_down(tmp_path: Path) -> None:
    midi_sets.write_melody(tmp_path / "loose.mid")  # a stray MIDI file beside the real data set
    midi_sets.maestro(tmp_path / "maestro-v3.0.0")
    assert locate_dataset(tmp_path, model_key="dynamics_engine").format == "maestro"
    assert locate_dataset(tmp_path, "midi-folder").subfolder == ""


def test_nothing_recognisable_or_the_wrong_format_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"could not recognise a data set layout in .* nor in the 3 levels below"):
        locate_dataset(tmp_path)
    with pytest.raises(DataError, match=r"no maestro layout in .*; expected: .*download-info maestro"):
        locate_dataset(tmp_path, "maestro")
    with pytest.raises(DataError, match="feeds dynamics_engine, not groove_predictor"):
        locate_dataset(tmp_path, "maestro", "groove_predictor")
