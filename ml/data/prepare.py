"""Unpack a downloaded data-set archive safely: no path escapes, no links or devices, bounded size and count.

Extraction goes into a temporary folder beside the destination and is renamed into place only when every
member passed, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ml.errors import DataError

MAX_FILES = 200_000  # members (files and folders): each costs a header read and an inode
MAX_TOTAL_BYTES = 200 * 1024**3
MAX_RATIO = 200  # uncompressed / compressed: above it the archive is treated as a bomb
CHUNK = 1 << 20


@dataclass
class PrepareReport:
    """What was unpacked."""

    destination: str
    files: int
    bytes: int


def _safe_member_path(name: str) -> PurePosixPath:
    # tarfile decodes names with surrogateescape: a surrogate is a byte that was not UTF-8. Such a name cannot be
    # reported, stored or served later, so the archive is refused before anything is written.
    if any("\ud800" <= ch <= "\udfff" for ch in name) or "\x00" in name:
        shown = name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise DataError(f"archive member name {shown!r} is not valid UTF-8 text; refused")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"archive member {name!r} has an absolute path; refused")
    if any(part == ".." for part in path.parts):
        raise DataError(f"archive member {name!r} escapes the destination with '..'; refused")
    return path


def _check_budget(files: int, total: int, compressed: int, max_files: int, max_total: int, max_ratio: float) -> None:
    if files > max_files:
        raise DataError(f"archive has more than {max_files} members (files and folders); refused")
    if total > max_total:
        raise DataError(f"archive unpacks to more than {max_total} bytes; refused")
    if compressed > 0 and total > 1 << 20 and total / compressed > max_ratio:
        raise DataError(
            f"archive expands {total / compressed:.0f}x (limit {max_ratio:.0f}x): looks like a bomb; refused"
        )


def _copy_limited(source: object, target: Path, budget: int) -> int:
    written = 0
    with target.open("wb") as out:
        while True:
            block = source.read(CHUNK)  # type: ignore[attr-defined]
            if not block:
                return written
            written += len(block)
            if written > budget:
                raise DataError("archive member is larger than its header says or exceeds the size limit; refused")
            out.write(block)


def prepare_archive(
    archive: Path,
    dest: Path,
    *,
    max_files: int = MAX_FILES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_ratio: float = MAX_RATIO,
    shown_name: str | None = None,
) -> PrepareReport:
    """Unpack a zip or tar(.gz/.bz2/.xz) archive into `dest` (which must not exist yet); errors name the archive
    as `shown_name` (an upload's own file name, not the server's temporary one) when given."""
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise DataError(f"archive not found: {archive}")
    if dest.exists():
        raise DataError(f"destination {dest} already exists; choose a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    compressed = archive.stat().st_size
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        if zipfile.is_zipfile(archive):
            files, total = _unzip(archive, staging, compressed, max_files, max_total_bytes, max_ratio)
        elif tarfile.is_tarfile(archive):
            files, total = _untar(archive, staging, compressed, max_files, max_total_bytes, max_ratio)
        else:
            raise DataError(f"{shown_name or archive.name} is not a zip or tar archive (.zip, .tar, .tar.gz/.bz2/.xz)")
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PrepareReport(str(dest), files, total)


def _unzip(
    archive: Path, staging: Path, compressed: int, max_files: int, max_total: int, max_ratio: float
) -> tuple[int, int]:
    files = total = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_budget(len(infos), 0, compressed, max_files, max_total, max_ratio)  # before writing anything
            for info in infos:
                path = _safe_member_path(info.filename)
                mode = (info.external_attr >> 16) & 0o170000
                if mode and mode not in (0o100000, 0o040000):  # only regular files and folders
                    raise DataError(f"archive member {info.filename!r} is a link or special file; refused")
                target = staging / path
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                files += 1
                _check_budget(files, total + info.file_size, compressed, max_files, max_total, max_ratio)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source:
                    total += _copy_limited(source, target, min(info.file_size, max_total - total))
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:  # a UTF-8-flagged name that is not UTF-8
        raise DataError(f"corrupt zip archive: {exc}") from None
    return files, total


def _untar(
    archive: Path, staging: Path, compressed: int, max_files: int, max_total: int, max_ratio: float
) -> tuple[int, int]:
    files = total = members = 0
    try:
        with tarfile.open(archive) as tf:
            for member in tf:
                members += 1  # folders count too: 100,000 empty folders cost as much as files
                _check_budget(members, total, compressed, max_files, max_total, max_ratio)
                path = _safe_member_path(member.name)
                if member.isdir():
                    (staging / path).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise DataError(f"archive member {member.name!r} is a link or special file; refused")
                files += 1
                _check_budget(files, total + member.size, compressed, max_files, max_total, max_ratio)
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tf.extractfile(member)
                if source is None:
                    raise DataError(f"cannot read archive member {member.name!r}")
                with source:
                    total += _copy_limited(source, target, min(member.size, max_total - total))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"corrupt tar archive: {exc}") from None
    return files, total
