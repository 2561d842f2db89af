"""melody_transformer targets: 128 note probabilities per 4-bar segment of a MIDI file.

Definition (tempo-invariant, so MIDI tempo scaling leaves it unchanged): bars come from the file's tempo and
time-signature map (pretty_midi downbeats; 4/4 at 120 BPM when the file has none). Segment k covers bars
[4k, 4k + 4); the last segment ends at the last note-off. For each pitch p, occupancy[p] = total seconds that
non-drum notes of pitch p sound inside the segment (overlapping notes of one pitch add up). The target is
occupancy / max(occupancy): the busiest pitch is 1, silent pitches 0. Segments with under 4 notes starting
in them are dropped; at most MAX_SEGMENTS per file (evenly spaced, deterministic).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ml.data.symbolic.midi import check_parsed

BARS_PER_SEGMENT = 4
MIN_NOTES = 4
MAX_SEGMENTS = 64
SETTINGS = {"kind": "melody_transformer", "version": 1, "bars": BARS_PER_SEGMENT, "min_notes": MIN_NOTES,
            "max_segments": MAX_SEGMENTS}  # fmt: skip


def spread_pick(n: int, cap: int) -> npt.NDArray[np.int64]:
    """At most `cap` indices of range(n), evenly spaced and deterministic."""
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


def segment_bounds(parsed: dict[str, np.ndarray], notes: np.ndarray, bars: int) -> np.ndarray:
    """[S, 2] start/end seconds of consecutive `bars`-bar segments covering the notes."""
    end = float(notes[:, 1].max())
    downbeats = parsed["downbeats"]
    starts = downbeats[::bars] if len(downbeats) else np.zeros(1)
    if len(starts) == 0 or starts[0] > notes[0, 0]:
        starts = np.concatenate([[min(0.0, float(notes[0, 0]))], starts])
    starts = starts[starts < end]
    ends = np.append(starts[1:], end)
    return np.stack([starts, ends], axis=1)


def melody_targets(parsed: dict[str, np.ndarray]) -> np.ndarray:
    """[S, 128] float32 note-probability targets of one parsed file (may be [0, 128])."""
    check_parsed(parsed)
    notes = parsed["notes"]
    rows = []
    for start, end in segment_bounds(parsed, notes, BARS_PER_SEGMENT):
        onsets_inside = np.count_nonzero((notes[:, 0] >= start) & (notes[:, 0] < end))
        if onsets_inside < MIN_NOTES:
            continue
        overlap = np.clip(np.minimum(notes[:, 1], end) - np.maximum(notes[:, 0], start), 0.0, None)
        occupancy = np.bincount(notes[:, 2].astype(np.int64), weights=overlap, minlength=128)[:128]
        if occupancy.max() <= 0:
            continue
        rows.append(occupancy / occupancy.max())
    if not rows:
        return np.zeros((0, 128), dtype=np.float32)
    targets = np.asarray(rows, dtype=np.float32)
    return targets[spread_pick(len(targets), MAX_SEGMENTS)]
