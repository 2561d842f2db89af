"""The scan's per-file checks: same outcomes in-process and on a pool, cached by content, progress, abort."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml.data import ScanOptions, ScanProgress, validate_dataset
from ml.data.scan import POOL_THRESHOLD, check_files
from ml.data.symbolic.common import MIDI_CHECK
from tests.fixtures.midi_sets import write_empty, write_melody, write_notes, write_truncated

FILES = POOL_THRESHOLD + 44  # enough to take the pool path


@pytest.fixture(scope="module")
def midi_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FILES MIDI files: copies of 3 melodies (of known length) plus one empty and one corrupt file."""
    root = tmp_path_factory.mktemp("scan") / "performances"
    templates = [write_notes(root / f"t{i}.mid", [(60 + i, 0.0, 2.0 + 2 * i)]) for i in range(3)]
    for index in range(FILES - 5):
        target = root / f"sub{index % 7}" / f"f{index:04d}.mid"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(templates[index % 3], target)
    write_empty(root / "empty.mid")
    write_truncated(root / "corrupt.mid")
    return root


def _paths(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.mid"))


def test_pool_and_in_process_give_the_same_outcomes_in_order(midi_tree: Path) -> None:
    paths = _paths(midi_tree)
    alone = check_files(paths, MIDI_CHECK, ScanOptions(workers=1))
    pooled = check_files(paths, MIDI_CHECK, ScanOptions(workers=2))
    assert pooled == alone
    by_name = dict(zip((p.name for p in paths), alone, strict=True))
    # 120 bpm: a note of 2 (4, 6) beats ends at 1.0 (2.0, 3.0) s; pretty_midi's end is the last note-off.
    assert by_name["t0.mid"] == pytest.approx(1.0)
    assert by_name["t1.mid"] == pytest.approx(2.0)
    assert by_name["t2.mid"] == pytest.approx(3.0)
    assert by_name["empty.mid"] == "no notes"
    assert isinstance(by_name["corrupt.mid"], str) and by_name["corrupt.mid"] != "no notes"
    assert sum(isinstance(o, float) for o in alone) == FILES - 2


def test_progress_counts_every_file_once_and_ends_complete(midi_tree: Path) -> None:
    seen: list[ScanProgress] = []
    paths = _paths(midi_tree)
    check_files(paths, MIDI_CHECK, ScanOptions(workers=2, progress=lambda p: seen.append(ScanProgress(**p.to_dict()))))
    assert seen[0].files_seen == 0 and seen[0].files_total == FILES
    assert [p.files_seen for p in seen] == sorted(p.files_seen for p in seen)
    assert (seen[-1].files_seen, seen[-1].usable, seen[-1].skipped) == (FILES, FILES - 2, 2)


def test_outcomes_are_cached_by_content(midi_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    paths = _paths(midi_tree)[:10]
    first = check_files(paths, MIDI_CHECK, ScanOptions(cache_dir=cache))
    entries = sorted(cache.rglob("*.arrays"))
    # t0..t2 copies share content: one entry per distinct file content, never one per path
    assert 1 <= len(entries) <= 5
    assert check_files(paths, MIDI_CHECK, ScanOptions(cache_dir=cache)) == first
    changed = tmp_path / "changed.mid"
    write_melody(changed, bars=1)
    assert check_files([changed], MIDI_CHECK, ScanOptions(cache_dir=cache)) != [first[0]]


def test_a_progress_callback_that_raises_abandons_the_scan(midi_tree: Path) -> None:
    class Cancelled(Exception):
        pass

    def cancel(progress: ScanProgress) -> None:
        if progress.files_seen > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        check_files(_paths(midi_tree), MIDI_CHECK, ScanOptions(workers=2, progress=cancel))


def test_validate_reports_the_same_on_any_number_of_workers(midi_tree: Path, tmp_path: Path) -> None:
    one = validate_dataset(midi_tree, "midi-folder")
    two = validate_dataset(midi_tree, "midi-folder", ScanOptions(workers=2, cache_dir=tmp_path / "c"))
    assert (one.usable, one.files_found, one.skipped) == (two.usable, two.files_found, two.skipped)
    assert one.usable == FILES - 2
    assert sorted(s.path for s in one.skipped) == ["corrupt.mid", "empty.mid"]
