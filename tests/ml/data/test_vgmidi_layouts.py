"""VGMIDI as its repository ships it: the CSV names phrases, labelled/midi/ holds whole pieces."""

from __future__ import annotations

from pathlib import Path

from ml.data import FORMATS
from tests.fixtures.midi_sets import write_melody


def test_csv_phrases_fall_back_to_the_whole_piece(tmp_path: Path) -> None:
    header = "id,series,console,game,piece,midi,valence,arousal"
    rows = [
        "1,Zelda,N64,Ocarina,Title,labelled/phrases/Zelda_N64_Ocarina_Title_0.mid,1,1",
        "2,Zelda,N64,Ocarina,Title,labelled/phrases/Zelda_N64_Ocarina_Title_1.mid,1,1",
        "3,Mario,N64,Galaxy,Gusty,labelled/phrases/Mario_N64_Galaxy_Gusty_0.mid,-1,1",
        "4,Mario,N64,Galaxy,Space,labelled/phrases/Mario_N64_Galaxy_Space_0.mid,-1,-1",
    ]
    (tmp_path / "vgmidi_labelled.csv").write_text("\n".join([header, *rows]) + "\n")
    for i, piece in enumerate(["Zelda_N64_Ocarina_Title", "Mario_N64_Galaxy_Gusty"]):
        write_melody(tmp_path / "labelled" / "midi" / f"{piece}.mid", i)
    report = FORMATS["vgmidi"].scan(tmp_path)
    assert report.usable == 2
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons == {
        "labelled/midi/Zelda_N64_Ocarina_Title.mid": "duplicate",  # phrase 1 maps onto the same piece
        "labelled/phrases/Mario_N64_Galaxy_Space_0.mid": "file missing",
    }
