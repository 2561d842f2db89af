"""groove_predictor: exact targets on hand-made grooves (swing, triplet feel, densities), and an emotion input
that never depends on the notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from ml import emotion
from ml.data import FORMATS, LoadOptions
from ml.data.symbolic.groove import STYLE_EMOTION, groove_features, style_emotion, style_key
from ml.data.symbolic.midi import parse_midi_file
from tests.fixtures import midi_sets

CLOSED_HAT, KICK, SNARE = 42, 36, 38


def _groove(path: Path, hits: list[tuple[int, float, int]], bpm: float = 120.0) -> dict[str, np.ndarray]:
    """Parse a drum file of exact (pitch, beat, velocity) hits; resolution 960 puts thirds of a beat on ticks."""
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=bpm)
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    beat = 60.0 / bpm
    for pitch, position, velocity in hits:
        kit.notes.append(pretty_midi.Note(velocity, pitch, position * beat, position * beat + 0.05))
    pm.instruments.append(kit)
    pm.write(str(path))
    return parse_midi_file(path)


def _every_beat(offsets: list[float], beats: int = 8) -> list[tuple[int, float, int]]:
    return [(CLOSED_HAT, b + o, 90) for b in range(beats) for o in offsets]


@pytest.mark.parametrize(
    ("offsets", "swing", "triplet"),
    [
        ([0.0, 0.5], 0.0, -1.0),  # straight eighths
        ([0.0, 2 / 3], 1.0, 1.0),  # triplet shuffle
        ([0.0, 0.625], 0.75, 1.0),  # 62.5 % swing: nearer the triplet than the straight eighth
        ([0.0, 0.25, 0.5, 0.75], 0.0, -1.0),  # straight sixteenths
        ([0.0, 1 / 3, 2 / 3], 1.0, 1.0),  # eighth-note triplets
        ([0.0, 0.45], -0.3, -1.0),  # off-beat pushed early
        ([0.0], 0.0, 0.0),  # quarter notes: nothing off the beat
    ],
)
def test_swing_and_triplet_feel(tmp_path: Path, offsets: list[float], swing: float, triplet: float) -> None:
    targets = groove_features(_groove(tmp_path / "g.mid", _every_beat(offsets)))["targets"]
    assert targets.shape == (1, 32)
    assert targets[0, 27] == pytest.approx(swing, abs=1e-6)
    assert targets[0, 28] == pytest.approx(triplet, abs=1e-6)


def test_densities_velocities_tempo_and_spread_exactly(tmp_path: Path) -> None:
    hits = [(KICK, b, 100) for b in (0, 2, 4, 6)] + [(SNARE, b, 80) for b in (1, 3, 5, 7)]
    row = groove_features(_groove(tmp_path / "g.mid", hits))["targets"][0]
    b = 8.0  # two 4/4 bars
    assert row[0] == pytest.approx(2 * (4 / b / 4) - 1)  # kick density -0.75
    assert row[1] == pytest.approx(2 * 100 / 127 - 1)
    assert row[3] == pytest.approx(2 * (4 / b / 4) - 1) and row[4] == pytest.approx(2 * 80 / 127 - 1)
    assert row[2] == pytest.approx(0.0, abs=1e-6) and row[5] == pytest.approx(0.0, abs=1e-6)  # on the grid
    assert row[6] == -1.0 and row[7] == -1.0 and row[8] == 0.0  # closed hi-hat silent
    assert row[29] == pytest.approx(0.0)  # 120 BPM
    assert row[30] == pytest.approx(2 * 10 / 64 - 1)  # velocities 100 and 80: std 10
    assert row[31] == pytest.approx(2 * (8 / b / 16) - 1)
    late = groove_features(_groove(tmp_path / "late.mid", [(KICK, x + 0.0625, 100) for x in (0, 2, 4, 6)]))
    assert late["targets"][0, 2] == pytest.approx(0.5, abs=1e-6)  # a quarter of a 16th late: 2 * 0.25


def test_style_table_covers_the_published_styles() -> None:
    assert style_key("neworleans/funk") == "neworleans" and style_key("Afrocuban-Bembe") == "afrocuban"
    published = ["afrobeat", "afrocuban", "blues", "country", "dance", "funk", "gospel", "highlife", "hiphop",
                 "jazz", "latin", "middleeastern", "neworleans", "pop", "punk", "reggae", "rock", "soul"]  # fmt: skip
    assert all(style_emotion(s) == STYLE_EMOTION[s] for s in published)
    assert style_emotion("polka") is None


def test_emotion_input_never_depends_on_the_notes(tmp_path: Path) -> None:
    parent = midi_sets.groove_midi(tmp_path / "gmd")
    before = FORMATS["groove-midi"].load(parent, "groove_predictor", LoadOptions())
    rock = parent / "groove" / "drummer1/session1/2_rock_120_beat_4-4.mid"
    midi_sets.write_drums(rock, variant=1, bpm=175.0)  # faster and busier: targets 29 and 31 move
    after = FORMATS["groove-midi"].load(parent, "groove_predictor", LoadOptions())
    assert not np.array_equal(before.targets, after.targets)
    np.testing.assert_array_equal(before.inputs, after.inputs)
    va = {(round(float(v), 2), round(float(a), 2)) for v, a in emotion.decode(after.inputs)}
    assert va == {STYLE_EMOTION[s] for s in ("funk", "rock", "jazz", "latin", "hiphop")}


def test_unknown_style_without_labels_is_skipped_with_the_fix(tmp_path: Path) -> None:
    parent = midi_sets.groove_midi(tmp_path / "gmd")
    info = parent / "groove" / "info.csv"
    info.write_text(info.read_text().replace(",hiphop,", ",polka,"))
    report = FORMATS["groove-midi"].scan(parent)
    assert any("'polka'" in w and "--labels-file" in w for w in report.warnings)
    data = FORMATS["groove-midi"].load(parent, "groove_predictor", LoadOptions())
    reasons = {s["path"]: s["reason"] for s in data.info["skipped"]}
    assert reasons["drummer1/session1/5_hiphop_90_beat_4-4.mid"] == (
        "no emotion: style 'polka' is not in the style table and no --labels-file was given"
    )
