"""groove_predictor targets: 32 groove parameters in [-1, 1] per 2-bar segment of a drum MIDI file.

Drum notes (is_drum instruments; for files without one, every note) map to the 9 classes of the Groove MIDI
Dataset paper (Gillick et al. 2019, the Roland TD-11 mapping Magenta uses); other pitches are ignored:
0 kick | 1 snare | 2 closed hi-hat | 3 open hi-hat |
4 low tom | 5 mid tom | 6 high tom | 7 crash | 8 ride (pitch lists in DRUM_CLASSES).
The grid is the 16th note: b = fractional beat index from the tempo map (as in dynamics), step = round(4b),
offset = 4b - step in [-0.5, 0.5] sixteenths. Segment k covers bars [2k, 2k + 2); B = its length in beats.

Targets (32): for class c (0..8):
  3c     density: 2 * min(hits / B / 4, 1) - 1        (at most one hit per 16th -> +1)
  3c+1   mean velocity: 2 * mean(velocity)/127 - 1   (-1 when the class is silent)
  3c+2   microtiming: 2 * mean(offset)               (0 when silent; +1 = half a 16th late)
  27     swing (off-beat eighth): from the hits whose beat phase p = b - floor(b) lies in [0.375, 0.75) (the
         off-beat eighth's neighbourhood: a straight eighth sits at 0.5, a triplet shuffle's at 2/3),
         clip(6 * (mean(p) - 0.5), -1, 1): straight 0, 62.5 % swing 0.75, triplet shuffle +1, pushed early < 0;
         0 when no hit lies there. Hits on a 16th at 0.75 are outside the window, so straight 16ths read 0.
  28     triplet feel: each hit takes the nearest of the positions {0, 1/4, 1/3, 1/2, 2/3, 3/4, 1} in its beat;
         of the off-beat hits (nearest position not 0 or 1), the share T nearest 1/3 or 2/3 gives 2T - 1:
         straight 8ths or 16ths -1, triplets or a triplet shuffle +1; 0 when every hit is on a beat.
  29     tempo: (BPM - 120) / 60, clipped
  30     velocity spread: 2 * std(velocity) / 64 - 1, clipped
  31     overall density: 2 * min(all hits / B / 16, 1) - 1
Segments with fewer than 4 hits are dropped; at most MAX_SEGMENTS per file (evenly spaced).

Input (emotion): never computed from the notes (whose tempo and density are targets 29 and 31). It is the
labels file's (valence, arousal), else the style prior STYLE_EMOTION of the data set's style column (the part
before '/', e.g. "funk/groove1" -> funk): `style_emotion`. A file with neither is skipped by the loader.
"""

from __future__ import annotations

import numpy as np

from ml.data.symbolic.dynamics import beat_positions
from ml.data.symbolic.melody import spread_pick
from ml.data.symbolic.midi import MidiError

DRUM_CLASSES: tuple[tuple[int, ...], ...] = (
    (36, 35),  # kick
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),  # snare (incl. rim, cross-stick, clap)
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),  # closed hi-hat (incl. pedal, TD-11 edge 22)
    (46, 67, 72, 74, 79, 81, 26),  # open hi-hat (incl. TD-11 edge 26)
    (45, 29, 41, 43, 61, 64, 84),  # low tom (incl. floor toms 41/43)
    (48, 47, 60, 63, 77, 86, 87),  # mid tom
    (50, 30, 62, 76, 83),  # high tom
    (49, 52, 55, 57, 58),  # crash
    (51, 53, 59, 82),  # ride
)
PITCH_TO_CLASS = np.full(128, -1, dtype=np.int64)
for _c, _pitches in enumerate(DRUM_CLASSES):
    PITCH_TO_CLASS[list(_pitches)] = _c
BARS_PER_SEGMENT = 2
MIN_HITS = 4
MAX_SEGMENTS = 32
SETTINGS = {"kind": "groove_predictor", "version": 2, "bars": BARS_PER_SEGMENT, "min_hits": MIN_HITS,
            "max_segments": MAX_SEGMENTS}  # fmt: skip
# A documented prior, not a measurement: (valence, arousal) per Groove MIDI / E-GMD style, after the common
# genre-emotion associations (energetic dance genres positive and aroused; metal and punk aroused and darker;
# blues darker and calmer; reggae and soul positive and relaxed). docs/data.md lists it; a labels file overrides it.
STYLE_EMOTION: dict[str, tuple[float, float]] = {
    "afrobeat": (0.5, 0.5), "afrocuban": (0.5, 0.5), "blues": (-0.3, -0.2), "country": (0.4, 0.1),
    "dance": (0.6, 0.7), "disco": (0.7, 0.6), "funk": (0.5, 0.5), "gospel": (0.6, 0.3), "highlife": (0.6, 0.3),
    "hiphop": (0.0, 0.3), "jazz": (0.2, -0.1), "latin": (0.6, 0.5), "metal": (-0.5, 0.9),
    "middleeastern": (-0.1, 0.2), "neworleans": (0.5, 0.3), "pop": (0.5, 0.3), "punk": (-0.2, 0.9),
    "reggae": (0.5, -0.3), "rock": (0.1, 0.6), "soul": (0.4, -0.1),
}  # fmt: skip
SWING_WINDOW = (0.375, 0.75)  # beat phases around the off-beat eighth (straight 0.5, triplet 2/3)
GRID_POSITIONS = np.array([0.0, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0])
TRIPLET_POSITIONS = (2, 4)  # indices of 1/3 and 2/3 in GRID_POSITIONS
BEAT_POSITIONS = (0, 6)


def style_key(style: str | None) -> str:
    """The style table's key of a data set's style text: "Funk/Groove1" -> "funk", "neworleans-funk" -> "neworleans"."""
    return (style or "").split("/")[0].split("-")[0].strip().lower().replace(" ", "")


def style_emotion(style: str | None) -> tuple[float, float] | None:
    """(valence, arousal) of a style from STYLE_EMOTION, or None when the style is not in the table."""
    return STYLE_EMOTION.get(style_key(style))


def swing(phases: np.ndarray) -> float:
    """Target 27 from the beat phases of a segment's hits (see the module docstring)."""
    inside = phases[(phases >= SWING_WINDOW[0]) & (phases < SWING_WINDOW[1])]
    return float(np.clip(6.0 * (inside.mean() - 0.5), -1.0, 1.0)) if len(inside) else 0.0


def triplet_feel(phases: np.ndarray) -> float:
    """Target 28 from the beat phases of a segment's hits (see the module docstring)."""
    nearest = np.abs(phases[:, None] - GRID_POSITIONS[None, :]).argmin(axis=1)
    off_beat = ~np.isin(nearest, BEAT_POSITIONS)
    if not off_beat.any():
        return 0.0
    share = float(np.isin(nearest[off_beat], TRIPLET_POSITIONS).mean())
    return 2.0 * share - 1.0


def groove_features(parsed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"targets": [S, 32]} for one parsed drum file."""
    if "error" in parsed:
        raise MidiError(str(parsed["error"]))
    hits = parsed["drums"] if len(parsed["drums"]) else parsed["notes"]
    if len(hits) == 0:
        raise MidiError("no drum notes")
    cls = PITCH_TO_CLASS[np.clip(hits[:, 2].astype(np.int64), 0, 127)]
    hits, cls = hits[cls >= 0], cls[cls >= 0]
    if len(hits) == 0:
        raise MidiError("no notes on mapped drum pitches")
    beats = parsed["beats"]
    b = beat_positions(hits[:, 0], beats)
    step = np.round(4.0 * b)
    offset = 4.0 * b - step
    downbeats = parsed["downbeats"]
    db = beat_positions(downbeats, beats) if len(downbeats) else np.array([0.0])
    starts = db[::BARS_PER_SEGMENT]
    last = float(b.max()) + 1e-6
    bar_len = float(np.median(np.diff(db))) if len(db) > 1 else 4.0
    ends = np.append(starts[1:], max(starts[-1] + BARS_PER_SEGMENT * bar_len, last))
    tempo = float(parsed["tempo"][0])
    rows = []
    for s, e in zip(starts, ends, strict=True):
        inside = (b >= s - 0.125) & (b < e - 0.125)
        if np.count_nonzero(inside) < MIN_HITS:
            continue
        length = max(e - s, 1.0)
        c, v, off = cls[inside], hits[inside, 3], offset[inside]
        row = np.zeros(32)
        for k in range(9):
            mask = c == k
            count = np.count_nonzero(mask)
            row[3 * k] = 2 * min(count / length / 4, 1.0) - 1
            row[3 * k + 1] = 2 * v[mask].mean() / 127 - 1 if count else -1.0
            row[3 * k + 2] = 2 * off[mask].mean() if count else 0.0
        phases = b[inside] - np.floor(b[inside])
        row[27] = swing(phases)
        row[28] = triplet_feel(phases)
        if len(beats) >= 2:
            i0 = int(np.clip(np.floor(s), 0, len(beats) - 2))
            i1 = int(np.clip(np.ceil(e), i0 + 1, len(beats) - 1))
            bpm = 60.0 * (i1 - i0) / max(beats[i1] - beats[i0], 1e-3)
        else:
            bpm = tempo
        row[29] = (bpm - 120) / 60
        row[30] = 2 * v.std() / 64 - 1
        row[31] = 2 * min(len(v) / length / 16, 1.0) - 1
        rows.append(np.clip(row, -1, 1))
    if not rows:
        raise MidiError(f"too short (no 2-bar segment with {MIN_HITS}+ drum hits)")
    pick = spread_pick(len(rows), MAX_SEGMENTS)
    return {"targets": np.asarray(rows, np.float32)[pick]}
