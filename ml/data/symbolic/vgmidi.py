"""VGMIDI (Ferreira & Whitehead, ISMIR 2019): video-game piano pieces with valence/arousal -> melody_transformer.

Assumed layout (github.com/lucasnfe/vgmidi, the v2 "labelled" set): `vgmidi_labelled.csv` at the root with
columns `id,series,console,game,piece,midi,valence,arousal`; `midi` is a path relative to the root (e.g.
`labelled/phrases/<game>_<piece>_<n>.mid`, from unzipping labelled/phrases.zip); valence and arousal are in
{-1, 1} (any value in [-1, 1] is accepted). If the path does not exist, the file is looked up by name anywhere
under the root (older releases put the phrases in `labelled/midi/`), and then as the whole piece `<piece>.mid`
(the repository's `labelled/midi/` holds whole pieces; further phrases of that piece count as duplicates).
Phrases of one piece share a group (series/game/piece, else the file stem without its trailing `_<n>`).
Missing files and out-of-range labels are skipped with a reason; a file listed twice is a duplicate.
"""

from __future__ import annotations

import re
from pathlib import Path

from ml.data.base import NO_SCAN_OPTIONS, DataFormat, LoadOptions, ScanOptions, ValidationReport
from ml.data.symbolic.common import (
    Item,
    dedupe,
    emotion_of,
    finish_scan,
    load_items,
    midi_files,
    new_report,
    read_csv_rows,
)
from ml.dataset import ArrayDataset

NAME = "vgmidi"
MODELS = ("melody_transformer",)
CSV_NAME = "vgmidi_labelled.csv"


def detect(root: Path) -> bool:
    """A vgmidi_labelled.csv at the root."""
    return (root / CSV_NAME).is_file()


def _items(root: Path) -> tuple[list[Item], ValidationReport]:
    report = new_report(NAME, root, MODELS)
    rows = read_csv_rows(root / CSV_NAME)
    by_name: dict[str, Path] | None = None
    items = []
    report.files_found = len(rows)
    for number, row in enumerate(rows, start=2):
        midi = row.get("midi", "").replace("\\", "/")
        label = f"{CSV_NAME}:{number} ({midi or 'no midi path'})"
        if not midi:
            report.skip(label, "no midi path in the row")
            continue
        path = root / midi
        if not path.is_file():
            if by_name is None:
                by_name = {p.name: p for p in midi_files(root)}
            # Older releases keep whole pieces in labelled/midi/ (`<piece>.mid`) where the CSV names phrases
            # (`<piece>_<n>.mid`): fall back to the piece, whose phrases then count as duplicates of it.
            name = Path(midi).name
            found = by_name.get(name) or by_name.get(re.sub(r"_\d+(\.midi?)$", r"\1", name))
            if found is None:
                report.skip(midi, "file missing")
                continue
            path = found
        try:
            valence, arousal = emotion_of({"valence": row.get("valence"), "arousal": row.get("arousal")})
        except ValueError as exc:
            report.skip(midi, str(exc))
            continue
        piece = "/".join(row.get(k, "") for k in ("series", "game", "piece")).strip("/")
        group = piece or re.sub(r"_\d+$", "", path.stem)
        items.append(Item(path, group=group, valence=valence, arousal=arousal))
    return dedupe(items, root, report), report


def scan(root: Path, options: ScanOptions = NO_SCAN_OPTIONS) -> ValidationReport:
    """Validate labels and every MIDI file."""
    items, report = _items(root)
    return finish_scan(report, items, root, options)


def load(root: Path, model_key: str, options: LoadOptions) -> ArrayDataset:
    """Note-probability targets per 4-bar segment, emotion from the row's valence/arousal."""
    items, report = _items(root)
    return load_items(NAME, root, model_key, options, items, report)


FORMAT = DataFormat(
    name=NAME,
    models=MODELS,
    description="VGMIDI labelled pieces (vgmidi_labelled.csv + MIDI phrases)",
    detect=detect,
    scan=scan,
    load=load,
    download_info="VGMIDI: https://github.com/lucasnfe/vgmidi - unzip labelled/phrases.zip; point at the folder "
    "holding vgmidi_labelled.csv (midi paths are relative to it).",
)
