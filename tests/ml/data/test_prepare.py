from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from ml.data.prepare import prepare_archive
from ml.errors import DataError


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
        ("tar-device", "link or special"),
        ("tar-absolute", "absolute"),
        ("tar-slip", "escapes"),
        ("tar-bomb", "bomb"),
        ("windows-drive", "absolute"),
        ("too-many", "more than 3 members"),
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
    elif kind in ("tar-device", "tar-absolute", "tar-slip", "tar-bomb"):

        def add(tf: tarfile.TarFile) -> None:
            name = {"tar-absolute": "/tmp/evil.txt", "tar-slip": "a/../../evil.txt"}.get(kind, "member")
            info = tarfile.TarInfo(name)
            if kind == "tar-device":
                info.type = tarfile.CHRTYPE
                tf.addfile(info)
            else:
                data = b"\0" * (20 << 20) if kind == "tar-bomb" else b"x"
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))

        archive = _tar(source / "a.tar.gz", add)
    elif kind == "windows-drive":
        archive = _zip(source / "a.zip", {"C:/evil.txt": b"2"})
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


@pytest.mark.parametrize("suffix", ["tar", "tar.gz", "tar.bz2", "tar.xz"])
def test_tar_archives_unpack_in_every_compression(tmp_path: Path, suffix: str) -> None:
    mode = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[suffix]
    archive = tmp_path / f"set.{suffix}"
    with tarfile.open(archive, mode) as tf:
        for name, data in {"DEAM/MEMD_audio/2.mp3": b"fake", "DEAM/notes.txt": b"hello"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    report = prepare_archive(archive, tmp_path / "out")
    assert report.files == 2 and report.bytes == 9
    assert (tmp_path / "out" / "DEAM" / "notes.txt").read_bytes() == b"hello"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", f"set.{suffix}"]


def test_a_zip_member_larger_than_its_header_says_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "lie.zip", {"a.bin": b"y" * 4096})
    data = bytearray(archive.read_bytes())
    # Patch the uncompressed size in the central directory (offset 24 of the "PK\1\2" record) to 10 bytes.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(DataError):
        prepare_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
