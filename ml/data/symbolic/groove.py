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
  27     swing: 2 * mean offset of hits on the 2nd and 4th 16th of a beat (0 if none), clipped
  28     syncopation: 2 * (fraction of hits not on a beat or 8th-note position) - 1
  29     tempo: (BPM - 120) / 60, clipped
  30     velocity spread: 2 * std(velocity) / 64 - 1, clipped
  31     overall density: 2 * min(all hits / B / 16, 1) - 1
Segments with fewer than 4 hits are dropped; at most MAX_SEGMENTS per file (evenly spaced).

Emotion without labels (documented mapping, `derived_emotion`): arousal = clip((BPM - 110)/70 +
(hits per beat - 4)/8, -1, 1); valence = STYLE_VALENCE[style] (0 for unknown styles).
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
SETTINGS = {"kind": "groove_predictor", "version": 1, "bars": BARS_PER_SEGMENT, "min_hits": MIN_HITS,
            "max_segments": MAX_SEGMENTS}  # fmt: skip
STYLE_VALENCE = {
    "afrobeat": 0.5, "afrocuban": 0.5, "blues": -0.2, "country": 0.3, "dance": 0.6, "disco": 0.6, "funk": 0.5,
    "gospel": 0.6, "highlife": 0.6, "hiphop": 0.0, "jazz": 0.2, "latin": 0.6, "metal": -0.5, "middleeastern": -0.1,
    "neworleans": 0.5, "pop": 0.5, "punk": -0.2, "reggae": 0.5, "rock": 0.1, "soul": 0.4,
}  # fmt: skip


def derived_emotion(style: str | None, bpm: float, hits_per_beat: float) -> tuple[float, float]:
    """(valence, arousal) for an unlabelled groove, per the mapping in the module docstring."""
    key = (style or "").split("/")[0].strip().lower().replace("-", "").replace(" ", "")
    valence = STYLE_VALENCE.get(key, 0.0)
    arousal = float(np.clip((bpm - 110.0) / 70.0 + (hits_per_beat - 4.0) / 8.0, -1.0, 1.0))
    return valence, arousal


def groove_features(parsed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"targets": [S, 32], "bpm": [S], "hits_per_beat": [S]} for one parsed drum file."""
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
    rows, bpms, densities = [], [], []
    for s, e in zip(starts, ends, strict=True):
        inside = (b >= s - 0.125) & (b < e - 0.125)
        if np.count_nonzero(inside) < MIN_HITS:
            continue
        length = max(e - s, 1.0)
        c, v, off, st = cls[inside], hits[inside, 3], offset[inside], step[inside]
        row = np.zeros(32)
        for k in range(9):
            mask = c == k
            count = np.count_nonzero(mask)
            row[3 * k] = 2 * min(count / length / 4, 1.0) - 1
            row[3 * k + 1] = 2 * v[mask].mean() / 127 - 1 if count else -1.0
            row[3 * k + 2] = 2 * off[mask].mean() if count else 0.0
        odd = (st % 2) == 1
        row[27] = 2 * off[odd].mean() if np.any(odd) else 0.0
        row[28] = 2 * np.count_nonzero(odd) / len(st) - 1
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
        bpms.append(bpm)
        densities.append(len(v) / length)
    if not rows:
        raise MidiError(f"too short (no 2-bar segment with {MIN_HITS}+ drum hits)")
    pick = spread_pick(len(rows), MAX_SEGMENTS)
    return {
        "targets": np.asarray(rows, np.float32)[pick],
        "bpm": np.asarray(bpms)[pick],
        "hits_per_beat": np.asarray(densities)[pick],
    }
