from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from ml.cli.main import main
from ml.data.prepare import prepare_archive
from ml.errors import DataError
from tests.fixtures.audio_sets import write_audio_labels


def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return path


def _tar(path: Path, add) -> Path:  # type: ignore[no-untyped-def]
    with tarfile.open(path, "w:gz") as tf:
        add(tf)
    return path


def test_a_good_archive_unpacks(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "ok.zip", {"clips/labels.csv": b"filename,valence,arousal\n", "clips/a.txt": b"x" * 100})
    report = prepare_archive(archive, tmp_path / "out")
    assert report.files == 2 and (tmp_path / "out" / "clips" / "labels.csv").is_file()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("zip-slip", "escapes"),
        ("absolute", "absolute"),
        ("zip-symlink", "link or special"),
        ("tar-symlink", "link or special"),
        ("tar-hardlink", "link or special"),
        ("too-many", "more than 3 files"),
        ("bomb", "bomb"),
        ("not-an-archive", "not a zip or tar"),
    ],
)
def test_dangerous_archives_are_refused_and_leave_nothing(tmp_path: Path, kind: str, message: str) -> None:
    source = tmp_path / "src"
    source.mkdir()
    if kind == "zip-slip":
        archive = _zip(source / "a.zip", {"ok.txt": b"1", "../../evil.txt": b"2"})
    elif kind == "absolute":
        archive = _zip(source / "a.zip", {"/etc/evil.txt": b"2"})
    elif kind == "zip-symlink":
        archive = _zip(source / "a.zip", {"ok.txt": b"1"}, links={"link": "/etc/passwd"})
    elif kind in ("tar-symlink", "tar-hardlink"):

        def add(tf: tarfile.TarFile) -> None:
            info = tarfile.TarInfo("link")
            info.type = tarfile.SYMTYPE if kind == "tar-symlink" else tarfile.LNKTYPE
            info.linkname = "/etc/passwd"
            tf.addfile(info)

        archive = _tar(source / "a.tar.gz", add)
    elif kind == "too-many":
        archive = _zip(source / "a.zip", {f"f{i}.txt": b"x" for i in range(5)})
    elif kind == "bomb":
        archive = _zip(source / "a.zip", {"zeros.bin": b"\0" * (50 << 20)})
    else:
        archive = source / "a.zip"
        archive.write_bytes(b"just some bytes" * 10)
    with pytest.raises(DataError, match=message):
        prepare_archive(archive, tmp_path / "out", max_files=3)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src"]  # no staging folder left behind
    assert not (tmp_path.parent / "evil.txt").exists()


def test_prepare_refuses_an_existing_destination(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "ok.zip", {"a.txt": b"1"})
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="already exists"):
        prepare_archive(archive, tmp_path / "out")


def test_cli_validate_prepare_and_download_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clips = write_audio_labels(tmp_path / "clips")
    assert main(["datasets", "validate", str(clips)]) == 0
    out = capsys.readouterr().out
    assert "format audio-labels" in out and "usable 4" in out and "skipped unlabelled.wav: no row in labels.csv" in out
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
