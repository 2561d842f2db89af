"""`mltrain datasets example`: every set in its published layout, usable in full, byte-identical across runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ml.cli.main import main
from ml.data import locate_dataset, validate_dataset
from ml.data.example import write_example
from ml.errors import DataError

EXPECTED = {  # folder: (format, model, usable files)
    "deam": ("deam", "emotion_recognizer", 24),
    "emopia": ("emopia", "melody_transformer", 24),
    "chords": ("chords-json", "harmony_predictor", 60),
    "maestro": ("maestro", "dynamics_engine", 12),
    "groove": ("groove-midi", "groove_predictor", 30),
}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("example") / "example"
    write_example(root)
    return root


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
            if p.is_file()}  # fmt: skip


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_each_set_is_detected_in_its_published_format_and_fully_usable(example: Path, folder: str) -> None:
    fmt, model, usable = EXPECTED[folder]
    located = locate_dataset(example / folder)
    assert (located.format, located.subfolder) == (fmt, "")
    report = validate_dataset(example / folder)
    assert (report.usable, report.skipped) == (usable, [])
    assert model in report.models
    # the whole example as a folder of data sets: each model finds its own set below it (Groove MIDI's layout
    # itself allows its published groove/ folder, so it is found from the parent already)
    found = locate_dataset(example, model_key=model)
    assert found.format == fmt and found.folder == (example if folder == "groove" else example / folder)


def test_the_labels_span_every_quadrant(example: Path) -> None:
    for folder in ("deam", "emopia"):
        ranges = validate_dataset(example / folder).label_ranges
        assert ranges["valence"][0] < -0.3 and ranges["valence"][1] > 0.3, folder
        assert ranges["arousal"][0] < -0.3 and ranges["arousal"][1] > 0.3, folder


def test_two_runs_write_the_same_bytes_and_stay_small(example: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    write_example(again)
    assert _digests(again) == _digests(example)
    assert sum(p.stat().st_size for p in example.rglob("*") if p.is_file()) < 3_000_000


def test_a_non_empty_folder_is_refused_and_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        write_example(tmp_path)
    assert main(["datasets", "example", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not empty" in err[0]
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_the_cli_lists_what_it_wrote_and_the_next_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "example", str(tmp_path / "ex")]) == 0
    out = capsys.readouterr().out
    for folder, (fmt, model, _usable) in EXPECTED.items():
        assert f"{folder}/" in out and fmt in out and model in out
    assert out.strip().splitlines()[-1] == (
        f"next: mltrain train --model all --datasets-dir {tmp_path / 'ex'} --output runs/example --epochs 30"
    )
