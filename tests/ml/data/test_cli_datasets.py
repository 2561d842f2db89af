"""`mltrain datasets validate | prepare | download-info | formats`: outputs and exit codes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from ml.cli.main import main
from ml.data import FORMATS
from tests.fixtures.audio_sets import write_audio_labels


def test_cli_validate_prepare_and_download_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clips = write_audio_labels(tmp_path / "clips")
    assert main(["datasets", "validate", str(clips)]) == 0
    out = capsys.readouterr().out
    assert "format audio-labels" in out and "usable 5" in out and "skipped unlabelled.wav: no row in labels.csv" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "labels.csv").write_text("filename,valence,arousal\n")
    assert main(["datasets", "validate", str(empty), "--format", "audio-labels"]) == 1
    assert main(["datasets", "validate", str(tmp_path / "nope")]) != 0
    assert "not found" in capsys.readouterr().err

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in clips.iterdir():
            zf.write(path, f"clips/{path.name}")
    (tmp_path / "clips.zip").write_bytes(buffer.getvalue())
    assert main(["datasets", "prepare", str(tmp_path / "clips.zip"), "--output", str(tmp_path / "unpacked")]) == 0
    assert main(["datasets", "validate", str(tmp_path / "unpacked" / "clips")]) == 0

    assert main(["datasets", "download-info"]) == 0
    info = capsys.readouterr().out
    for name in ("deam", "audio-labels", "emopia", "maestro", "groove-midi", "lakh", "chords-json"):
        assert f"== {name} " in info
    assert main(["datasets", "download-info", "nope"]) != 0


def test_cli_validate_json_is_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clips = write_audio_labels(tmp_path / "clips")
    assert main(["datasets", "validate", str(clips), "--format", "audio-labels", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "audio-labels" and report["models"] == ["emotion_recognizer"]
    assert report["usable"] == 5 and {"path": "unlabelled.wav", "reason": "no row in labels.csv"} in report["skipped"]


def test_cli_validate_refuses_an_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "validate", str(tmp_path), "--format", "nope"]) != 0
    err = capsys.readouterr().err
    assert "unknown data format 'nope'" in err and len(err.strip().splitlines()) == 1


def test_cli_formats_lists_every_format_and_its_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "formats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(FORMATS)
    by_name = {line.split()[0]: line for line in lines}
    assert set(by_name) == set(FORMATS)
    assert "emotion_recognizer" in by_name["deam"] and "emotion_recognizer" in by_name["audio-labels"]
    for name, fmt in FORMATS.items():
        assert all(model in by_name[name] for model in fmt.models)


def test_cli_prepare_with_format_validates_and_refusals_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = write_audio_labels(tmp_path / "clips")
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in clips.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(clips).as_posix())
    command = ["datasets", "prepare", str(archive), "--output", str(tmp_path / "out"), "--format", "audio-labels"]
    assert main(command) == 0
    assert "5 usable files as audio-labels" in capsys.readouterr().out
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../evil.txt", b"x")
    assert main(["datasets", "prepare", str(evil), "--output", str(tmp_path / "out2")]) != 0
    assert "refused" in capsys.readouterr().err and not (tmp_path / "out2").exists()
