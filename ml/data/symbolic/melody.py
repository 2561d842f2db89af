"""melody_transformer rows: 64 causal context inputs and 128 key-relative note targets per 4-bar segment.

Frame (what output k means): "MIDI note k in a piece whose tonic is C". Each file's key (tonic pitch class +
major/minor) is estimated once from the whole file (`ml.data.symbolic.key.estimate_key`: a key signature the
notes agree with, else Krumhansl-Schmuckler profiles), and every note is transposed by -s, where
s = tonic_shift(tonic) in -5..6 is the shift with the smallest |s| that puts the tonic on C (C 0, D +2, F +5,
F# +6, G -5, A -3, B -1), so the register moves at most 6 semitones down or 5 up. The frame is parallel: C major
and C minor both have tonic C, so a major piece shows E (64) where a minor one shows Eb (63). The plugin maps
output k to MIDI note k + tonic_shift(its key's tonic) (`from_key_frame`), dropping notes pushed outside 0..127.

Segments: bars come from the file's tempo and time-signature map (pretty_midi downbeats; 4/4 at 120 BPM when
the file has none). Segment k covers bars [4k, 4k + 4); the last segment ends at the last note-off. For each
key-relative pitch p, occupancy[p] = total seconds that non-drum notes of pitch p sound inside the segment
(clipped to it; overlapping notes of one pitch add up; notes pushed outside 0..127 by the shift drop out).

Target of segment k: occupancy / max(occupancy) (busiest pitch 1, silent pitches 0). Segments with under
MIN_NOTES note onsets are dropped as rows; at most MAX_SEGMENTS rows per file (evenly spaced, deterministic,
picked after every row's inputs are computed from its true previous segment).

Inputs of segment k (what a real-time plugin knows when segment k starts; `context_vector`):
- 0 valence, 1 arousal: the file's label in [-1, 1] (EMOTION_COLUMNS; filled by `with_emotion` at load time
  because they belong to the label, not the file; the cached rows hold 0 there)
- 2 mode: 1.0 if the file's key is minor, else 0.0 (MODE_COLUMN; the plugin's key setting)
- 3 previous segment present: 1.0, or 0.0 for the file's first segment, whose inputs 4..63 are then 0
- the rest describe segment k - 1 (bars [4(k-1), 4k)), computed like a target even when that segment was
  dropped as a row; all 0 (flag 3 still 1) if nothing sounds in it. occ = its occupancy over 128 pitches:
  - 4..15 pitch-class occupancy: sum of occ over p % 12 == c (c = 0 is the tonic), / its max
  - 16..23 octave occupancy: sum of occ over min(max(p // 12, 1), 8) - 1 == bin, / its max
  - 24 onset density: note onsets in the segment / beats in it (tempo-map beats in [start, end): 16 for 4 bars
    of 4/4) / 8, clipped to [0, 1]
  - 25 mean pitch: sum(p * occ) / sum(occ) / 127
  - 26 pitch range: (max - min sounding pitch) / 48, clipped to [0, 1]
  - 27..63 occ[40..76] / max(occ): exactly the previous segment's target entries 40..76 (PREV_WINDOW_*)
Everything is key-relative and uses ratios of seconds or counts per beat, so transposing a file (within the
shift window) or scaling its tempo leaves inputs and targets unchanged. Causality: segment k's inputs use only
notes sounding before segment k starts (clipped at that boundary); the key is a file-level setting.

Transposing a whole file by t semitones moves its tonic by t too, so the rows are unchanged as long as
tonic_shift(tonic) + t stays in -5..6; past that the tonic wraps to the other side of the shift window and the
pitch-based entries move by exactly one octave (12 indices), the price of keeping the register.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ml.data.symbolic.key import KEY_VERSION, SIGNATURE_MARGIN, Key, estimate_key, tonic_shift
from ml.data.symbolic.midi import check_parsed

BARS_PER_SEGMENT = 4
MIN_NOTES = 4
MAX_SEGMENTS = 64
INPUT_SIZE = 64
OUTPUT_SIZE = 128
EMOTION_COLUMNS = (0, 1)  # valence, arousal
MODE_COLUMN = 2
PREV_PRESENT_COLUMN = 3
PREV_PITCH_CLASS_COLUMNS = range(4, 16)
PREV_OCTAVE_COLUMNS = range(16, 24)
PREV_DENSITY_COLUMN = 24
PREV_MEAN_PITCH_COLUMN = 25
PREV_RANGE_COLUMN = 26
PREV_WINDOW_COLUMNS = range(27, 64)
PREV_WINDOW_PITCHES = range(40, 77)
ONSETS_PER_BEAT_SCALE = 8.0
RANGE_SCALE = 48.0
SETTINGS = {"kind": "melody_transformer", "version": 3, "bars": BARS_PER_SEGMENT, "min_notes": MIN_NOTES,
            "max_segments": MAX_SEGMENTS, "frame": "tonic-C", "key_version": KEY_VERSION,
            "signature_margin": SIGNATURE_MARGIN, "inputs": "emotion-mode-previous-segment"}  # fmt: skip


class MelodyRows(NamedTuple):
    """One file's rows: inputs [S, 64] (emotion columns 0), targets [S, 128], and the file's key."""

    inputs: npt.NDArray[np.float32]
    targets: npt.NDArray[np.float32]
    key: Key


class SegmentStats(NamedTuple):
    """Per-segment raw measurements: occupancy [S, 128] seconds, onsets [S], beats [S], bounds [S, 2]."""

    occupancy: npt.NDArray[np.float64]
    onsets: npt.NDArray[np.int64]
    beats: npt.NDArray[np.float64]
    bounds: npt.NDArray[np.float64]


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


def key_relative_notes(notes: np.ndarray, key: Key) -> np.ndarray:
    """Notes transposed by -key.shift (tonic onto C); notes pushed outside 0..127 are dropped."""
    moved = notes.copy()
    moved[:, 2] -= key.shift
    return moved[(moved[:, 2] >= 0) & (moved[:, 2] <= 127)]


def from_key_frame(probs: np.ndarray, tonic: int) -> np.ndarray:
    """What the plugin does: [..., 128] key-frame outputs -> MIDI-note probabilities in the key of `tonic`."""
    s = tonic_shift(tonic)
    out = np.zeros_like(probs)
    if s >= 0:
        out[..., s:] = probs[..., : probs.shape[-1] - s]
    else:
        out[..., :s] = probs[..., -s:]
    return out


def segment_stats(parsed: dict[str, np.ndarray], notes: np.ndarray) -> SegmentStats:
    """Occupancy, onset count and tempo-map beat count of every segment of key-relative `notes`."""
    bounds = segment_bounds(parsed, notes, BARS_PER_SEGMENT) if len(notes) else np.zeros((0, 2))
    beat_times = np.asarray(parsed.get("beats", np.zeros(0)), dtype=np.float64)
    occupancy = np.zeros((len(bounds), OUTPUT_SIZE))
    onsets = np.zeros(len(bounds), dtype=np.int64)
    beats = np.zeros(len(bounds))
    tempo = float(parsed["tempo"][0]) if "tempo" in parsed else 120.0  # only without tempo-map beats
    pitches = notes[:, 2].astype(np.int64)
    for k, (start, end) in enumerate(bounds):
        overlap = np.clip(np.minimum(notes[:, 1], end) - np.maximum(notes[:, 0], start), 0.0, None)
        occupancy[k] = np.bincount(pitches, weights=overlap, minlength=OUTPUT_SIZE)[:OUTPUT_SIZE]
        onsets[k] = np.count_nonzero((notes[:, 0] >= start) & (notes[:, 0] < end))
        beats[k] = np.count_nonzero((beat_times >= start) & (beat_times < end)) or (end - start) * tempo / 60.0
    return SegmentStats(occupancy, onsets, beats, bounds)


def _normalised(values: np.ndarray) -> np.ndarray:
    peak = float(values.max())
    return values / peak if peak > 0 else np.zeros_like(values)


def context_vector(occupancy: np.ndarray | None, onsets: int, beats: float, minor: bool) -> np.ndarray:
    """[64] float64 inputs (emotion columns 0) from the previous segment's occupancy, or None for none."""
    x = np.zeros(INPUT_SIZE)
    x[MODE_COLUMN] = 1.0 if minor else 0.0
    if occupancy is None:
        return x
    x[PREV_PRESENT_COLUMN] = 1.0
    occ = np.asarray(occupancy, dtype=np.float64)
    total = float(occ.sum())
    if total <= 0:
        return x
    pitches = np.arange(OUTPUT_SIZE)
    x[PREV_PITCH_CLASS_COLUMNS] = _normalised(np.bincount(pitches % 12, weights=occ, minlength=12))
    octave_bins = np.clip(pitches // 12, 1, 8) - 1
    x[PREV_OCTAVE_COLUMNS] = _normalised(np.bincount(octave_bins, weights=occ, minlength=8))
    x[PREV_DENSITY_COLUMN] = min(max(onsets / max(beats, 1.0) / ONSETS_PER_BEAT_SCALE, 0.0), 1.0)
    x[PREV_MEAN_PITCH_COLUMN] = float((pitches * occ).sum()) / total / 127.0
    sounding = np.flatnonzero(occ > 0)
    x[PREV_RANGE_COLUMN] = min((sounding[-1] - sounding[0]) / RANGE_SCALE, 1.0)
    x[PREV_WINDOW_COLUMNS] = occ[PREV_WINDOW_PITCHES] / occ.max()
    return x


def with_emotion(inputs: np.ndarray, valence: float, arousal: float) -> np.ndarray:
    """A copy of cached [S, 64] inputs with the label's valence and arousal in EMOTION_COLUMNS."""
    out = np.array(inputs, dtype=np.float32, copy=True)
    out[:, EMOTION_COLUMNS[0]] = valence
    out[:, EMOTION_COLUMNS[1]] = arousal
    return out


def melody_rows(parsed: dict[str, np.ndarray]) -> MelodyRows:
    """Inputs [S, 64] (emotion columns 0), key-relative targets [S, 128] (S may be 0) and the file's key."""
    check_parsed(parsed)
    key = estimate_key(parsed)
    stats = segment_stats(parsed, key_relative_notes(parsed["notes"], key))
    inputs, targets = [], []
    for k, occupancy in enumerate(stats.occupancy):
        if stats.onsets[k] < MIN_NOTES or occupancy.max() <= 0:
            continue
        previous = stats.occupancy[k - 1] if k > 0 else None
        prev_onsets, prev_beats = (int(stats.onsets[k - 1]), float(stats.beats[k - 1])) if k > 0 else (0, 0.0)
        inputs.append(context_vector(previous, prev_onsets, prev_beats, key.minor))
        targets.append(occupancy / occupancy.max())
    if not targets:
        return MelodyRows(np.zeros((0, INPUT_SIZE), np.float32), np.zeros((0, OUTPUT_SIZE), np.float32), key)
    pick = spread_pick(len(targets), MAX_SEGMENTS)
    x = np.asarray(inputs, dtype=np.float32)[pick]
    return MelodyRows(x, np.asarray(targets, dtype=np.float32)[pick], key)


def melody_targets(parsed: dict[str, np.ndarray]) -> np.ndarray:
    """[S, 128] float32 key-relative note-probability targets of one parsed file (may be [0, 128])."""
    return melody_rows(parsed).targets
