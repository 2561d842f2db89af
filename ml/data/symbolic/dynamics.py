"""dynamics_engine rows: 32 causal performance-context features -> 16 expression parameters, one row per note.

Notes are the non-drum notes of a file sorted by onset, ties by pitch. **Causality**: the inputs of note i use
only the notes a plugin has heard when note i starts: those whose onset is strictly before onset_i, plus note i
itself. With a lookahead L > 0 (`lookahead_seconds`, written into the export metadata) the chord and window
inputs (3-7, 22-24, 26) may also see notes starting before onset_i + L (e.g. L = 0.03 lets chord-mates count);
history inputs ("previous" notes) always mean strictly earlier onsets. Targets may use the note's own future
(its duration, the next onset): they are what the model predicts.

Beat grid: b(t) = fractional beat index of time t from the file's tempo map (pretty_midi beats, interpolated,
extrapolated with the end beat lengths); q = round(4b)/4 (16th grid); dev = b - q. A file has a **usable beat
grid** when it has 2+ beats and the mean |dev| of its onsets is below GRID_ALIGNMENT_MAX = 0.04 beats (onsets
scattered at random over a nominal grid give 1/16 = 0.0625; played to a click, well under 0.03). Without one
(MAESTRO's nominal 120 BPM) the beat inputs 10-13, 28, 29 read 0, input 2 reads 0, and the grid targets 1 and 12
read 0.5 ("on the grid"): the plugin sets input 2 to 1 only while the host's transport gives it a tempo.

Windows: "past window" = visible notes with onset in [onset_i - 1 s, onset_i] plus note i; "chord" = visible
notes with |onset - onset_i| <= 30 ms, plus note i. "prev k" = the k-th note before i among strictly earlier
onsets (ordered by onset, then pitch). Every value is clipped to [0, 1]; a missing neighbour reads 0 (velocity,
pitch) or 0.5 (signed differences).

Inputs (32):  0 pitch/127 | 1 (pitch - prev pitch + 24)/48 | 2 beat grid usable (0/1) | 3 chord size/8 |
4 highest pitch of its chord (0/1) | 5 lowest pitch of its chord (0/1) | 6 notes sounding at the onset
(strictly earlier notes not yet released, plus this one)/10 | 7 notes in the past window/20 | 8 seconds since
the previous distinct onset/2 (0 if none) | 9 median interval between the distinct onsets in [onset - 4 s,
onset]/2 s (0 if under 2) | 10 beat phase q - floor(q) | 11 bar phase (position of q in its bar, from
downbeats) | 12 bar phase < 1/16 (0/1) | 13 local tempo BPM/240 | 14-17 velocity of prev 1..4/127 |
18-21 pitch of prev 1..4/127 | 22 past-window mean pitch/127 | 23 past-window pitch range/48 |
24 (pitch - past-window mean pitch + 24)/48 | 25 same pitch as prev 1 (0/1) | 26 visible onsets in
[onset - 4 s, onset]/40 | 27 seconds since the previous note of this pitch/4 (1 if none) | 28 0.5 + 0.5
sin(2 pi beat phase) | 29 0.5 + 0.5 cos(2 pi bar phase) | 30 mean velocity of prev 1..8/127 (0 if none) |
31 (velocity of prev 1 - velocity of prev 2 + 127)/254

Targets (16):  0 velocity/127 | 1 timing: 0.5 + 4 dev (16th-grid deviation, 0.5 = on grid) |
2 articulation: duration / IOI to the next onset / 2 (0.5 = legato; last note: duration) | 3 duration/4 s |
4 (velocity - prev velocity + 64)/128 | 5 (velocity - mean velocity of the notes within +/- 1 s + 64)/128 |
6 (velocity - mean velocity of its onset cluster + 32)/64 | 7 (onset - its cluster's first onset)/30 ms |
8 rubato: IOI to next / median cluster IOI within +/- 1 s / 2 | 9 (velocity - file mean velocity + 64)/128 |
10 overlap: 0.5 + (note end - next onset)/1 s | 11 (velocity - cluster top-note velocity + 64)/128 |
12 0.5 + 2 (dev - previous note's dev) | 13 velocity range within +/- 1 s/127 |
14 accent: velocity > mean velocity within +/- 1 s + 10 | 15 staccato: duration < 0.5 * IOI to next
(a cluster for targets: notes within 30 ms of the cluster's first onset). At most MAX_NOTES rows per file,
evenly spaced over its notes (deterministic; rows are computed from all notes first, so each row is causal).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ml.data.symbolic.melody import spread_pick
from ml.data.symbolic.midi import check_parsed

N_INPUTS = 32
N_TARGETS = 16
MAX_NOTES = 256
CLUSTER_S = 0.03
WINDOW_S = 1.0
HISTORY_S = 4.0
GRID_ALIGNMENT_MAX = 0.04  # mean |16th-grid deviation| in beats below which a file's beat grid is trusted
SETTINGS = {"kind": "dynamics_engine", "version": 2, "max_notes": MAX_NOTES, "cluster_s": CLUSTER_S,
            "window_s": WINDOW_S, "history_s": HISTORY_S, "grid_alignment_max": GRID_ALIGNMENT_MAX}  # fmt: skip
GRID_COLUMN = 2
PITCH_COLUMNS = (0, 18, 19, 20, 21, 22)  # absolute pitch/127 features (MIDI transposition shifts them)
SECONDS_COLUMNS = (8, 9, 27)  # seconds-based features (MIDI tempo scaling divides them)
TEMPO_COLUMN = 13
BEAT_COLUMNS = (10, 11, 12, 13, 28, 29)  # 0 without a usable beat grid
RECENT_VELOCITY_COLUMN = 30  # mean velocity of the previous 8 notes / 127: the "recent velocity" baseline reads it
GRID_TARGETS = (1, 12)  # 0.5 without a usable beat grid


class DynamicsRows(NamedTuple):
    """One file's rows and whether its beat grid was usable."""

    inputs: np.ndarray
    targets: np.ndarray
    beat_grid: bool


def beat_positions(times: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Fractional beat index of each time from the beat grid (120 BPM if the grid is too short)."""
    if len(beats) < 2:
        return times / 0.5
    index = np.arange(len(beats), dtype=np.float64)
    pos = np.interp(times, beats, index)
    last = beats[-1] - beats[-2]
    after = times > beats[-1]
    pos[after] = index[-1] + (times[after] - beats[-1]) / max(last, 1e-6)
    before = times < beats[0]
    pos[before] = (times[before] - beats[0]) / max(beats[1] - beats[0], 1e-6)
    return pos


def grid_is_usable(onsets: np.ndarray, beats: np.ndarray) -> bool:
    """True when the onsets line up with the file's beat grid (see the module docstring)."""
    if len(beats) < 2 or len(onsets) == 0:
        return False
    b = beat_positions(onsets, beats)
    return float(np.abs(b - np.round(b * 4.0) / 4.0).mean()) < GRID_ALIGNMENT_MAX


def _shift(values: np.ndarray, k: int, fill: float) -> np.ndarray:
    """values[i - k] (previous k-th) for k > 0, values[i + |k|] for k < 0; `fill` where missing."""
    out = np.full_like(values, fill, dtype=np.float64)
    if k > 0:
        out[k:] = values[:-k]
    elif k < 0:
        out[:k] = values[-k:]
    return out


def _range_stats(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, own: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Count, mean, min, max of values over index ranges [lo, hi), plus index `own` where own >= hi."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    extra = np.zeros(len(lo), dtype=bool) if own is None else own >= hi
    own_values = np.zeros(len(lo)) if own is None else values[own]
    count = (hi - lo) + extra
    mean = (csum[hi] - csum[lo] + np.where(extra, own_values, 0.0)) / np.maximum(count, 1)
    low = np.where(extra, own_values, np.inf)
    high = np.where(extra, own_values, -np.inf)
    vmin = np.array([min(values[a:b].min(initial=np.inf), m) for a, b, m in zip(lo, hi, low, strict=True)])
    vmax = np.array([max(values[a:b].max(initial=-np.inf), m) for a, b, m in zip(lo, hi, high, strict=True)])
    return count.astype(np.float64), mean, vmin, vmax


def _history(values: np.ndarray, first_same: np.ndarray, k: int, fill: float) -> np.ndarray:
    """The value of the k-th note before each note among strictly earlier onsets (`fill` if none)."""
    index = first_same - k
    return np.where(index >= 0, values[np.maximum(index, 0)], fill)


def _median_recent_ioi(on: np.ndarray) -> np.ndarray:
    """Per note: median interval between the distinct onsets in [onset - HISTORY_S, onset] (0 if under 2)."""
    unique, inverse = np.unique(on, return_inverse=True)
    lo = np.searchsorted(unique, unique - HISTORY_S, side="left")
    gaps = np.diff(unique)
    per_onset = np.array([float(np.median(gaps[a:u])) if u - a >= 1 else 0.0 for u, a in enumerate(lo)])
    return per_onset[inverse.reshape(-1)]


def _causal_inputs(
    notes: np.ndarray, beats: np.ndarray, downbeats: np.ndarray, grid: bool, lookahead: float
) -> np.ndarray:
    on, off, pitch, vel = notes[:, 0], notes[:, 1], notes[:, 2], notes[:, 3]
    n = len(notes)
    own = np.arange(n)
    first_same = np.searchsorted(on, on, side="left")  # index of the first note starting with this one
    # Visible notes are indices [0, visible_end) plus note i: strictly earlier onsets, or onsets before onset + L.
    lookahead_end = np.maximum(np.searchsorted(on, on + lookahead, side="left"), own + 1)
    visible_end = lookahead_end if lookahead > 0 else first_same
    chord_lo = np.searchsorted(on, on - CLUSTER_S, side="left")
    chord_hi = np.minimum(visible_end, np.searchsorted(on, on + CLUSTER_S, side="right"))
    chord_count, _, chord_min, chord_max = _range_stats(pitch, chord_lo, chord_hi, own)
    window_lo = np.searchsorted(on, on - WINDOW_S, side="left")
    window_count, window_mean, window_min, window_max = _range_stats(pitch, window_lo, visible_end, own)
    history_lo = np.searchsorted(on, on - HISTORY_S, side="left")
    released = np.searchsorted(np.sort(off), on, side="right")  # notes ended by this onset (all started before it)
    prev_onset = np.where(first_same > 0, on[np.maximum(first_same - 1, 0)], np.nan)
    last_same = np.full(n, np.inf)
    seen: dict[int, float] = {}
    for i in range(n):
        if i == first_same[i]:  # commit every note of the previous onset before looking up this onset's notes
            for j in range(first_same[i - 1] if i else 0, i):
                seen[int(pitch[j])] = on[j]
        p = int(pitch[i])
        if p in seen:
            last_same[i] = on[i] - seen[p]
    csum_vel = np.concatenate([[0.0], np.cumsum(vel)])
    prev8_count = first_same - np.maximum(first_same - 8, 0)
    prev8 = np.where(prev8_count > 0, (csum_vel[first_same] - csum_vel[first_same - prev8_count]), 0.0)
    prev8 = prev8 / np.maximum(prev8_count, 1)

    x = np.zeros((n, N_INPUTS))
    x[:, 0] = pitch / 127
    x[:, 1] = np.nan_to_num((pitch - _history(pitch, first_same, 1, np.nan) + 24) / 48, nan=0.5)
    x[:, GRID_COLUMN] = 1.0 if grid else 0.0
    x[:, 3] = chord_count / 8
    x[:, 4] = pitch >= chord_max
    x[:, 5] = pitch <= chord_min
    x[:, 6] = (first_same - released + 1) / 10
    x[:, 7] = window_count / 20
    x[:, 8] = np.nan_to_num(on - prev_onset, nan=0.0) / 2
    x[:, 9] = _median_recent_ioi(on) / 2
    if grid:
        q = np.round(beat_positions(on, beats) * 4.0) / 4.0
        beat_phase = q - np.floor(q)
        db = beat_positions(downbeats, beats) if len(downbeats) else np.zeros(1)
        bar_i = np.clip(np.searchsorted(db, q + 1e-9, side="right") - 1, 0, len(db) - 1)
        bar_len = np.diff(np.append(db, db[-1] + (db[-1] - db[-2] if len(db) > 1 else 4.0)))
        bar_phase = np.clip((q - db[bar_i]) / np.maximum(bar_len[bar_i], 1e-6), 0.0, 1.0)
        beat_len = np.diff(beats)
        bi = np.clip(np.searchsorted(beats, on, side="right") - 1, 0, len(beat_len) - 1)
        x[:, 10] = beat_phase
        x[:, 11] = bar_phase
        x[:, 12] = bar_phase < 1 / 16
        x[:, 13] = 60.0 / np.maximum(beat_len[bi], 1e-3) / 240
        x[:, 28] = 0.5 + 0.5 * np.sin(2 * np.pi * beat_phase)
        x[:, 29] = 0.5 + 0.5 * np.cos(2 * np.pi * bar_phase)
    for k in range(1, 5):
        x[:, 13 + k] = _history(vel, first_same, k, 0.0) / 127
        x[:, 17 + k] = _history(pitch, first_same, k, 0.0) / 127
    x[:, 22] = window_mean / 127
    x[:, 23] = (window_max - window_min) / 48
    x[:, 24] = (pitch - window_mean + 24) / 48
    x[:, 25] = pitch == _history(pitch, first_same, 1, -1.0)
    x[:, 26] = (visible_end - history_lo + (own >= visible_end)) / 40
    x[:, 27] = np.where(np.isfinite(last_same), last_same / 4, 1.0)
    x[:, RECENT_VELOCITY_COLUMN] = prev8 / 127
    previous_change = _history(vel, first_same, 1, np.nan) - _history(vel, first_same, 2, np.nan)
    x[:, 31] = np.nan_to_num((previous_change + 127) / 254, nan=0.5)
    return x


def _targets(notes: np.ndarray, beats: np.ndarray, grid: bool) -> np.ndarray:
    on, off, pitch, vel = notes[:, 0], notes[:, 1], notes[:, 2], notes[:, 3]
    n = len(notes)
    dur = off - on
    b = beat_positions(on, beats)
    dev = b - np.round(b * 4.0) / 4.0
    # Onset clusters: a new cluster starts where the onset is > CLUSTER_S after the cluster's first onset.
    cluster = np.zeros(n, dtype=np.int64)
    first = on[0]
    for i in range(1, n):
        if on[i] - first > CLUSTER_S:
            cluster[i] = cluster[i - 1] + 1
            first = on[i]
        else:
            cluster[i] = cluster[i - 1]
    csize = np.bincount(cluster).astype(np.float64)
    cfirst = np.full(len(csize), np.inf)
    np.minimum.at(cfirst, cluster, on)
    cmax = np.full(len(csize), -1.0)
    np.maximum.at(cmax, cluster, pitch)
    cvel = np.bincount(cluster, weights=vel) / csize
    top_vel = np.zeros(len(csize))
    is_top = pitch == cmax[cluster]
    top_vel[cluster[is_top]] = vel[is_top]
    next_cluster_on = np.append(cfirst[1:], np.nan)[cluster]
    ioi_next = np.where(np.isnan(next_cluster_on), dur, next_cluster_on - on)
    lo = np.searchsorted(on, on - WINDOW_S, side="left")
    hi = np.searchsorted(on, on + WINDOW_S, side="right")
    _, mean_vel, min_vel, max_vel = _range_stats(vel, lo, hi)
    cl_ioi = np.diff(cfirst)
    if len(cl_ioi):
        cs = np.searchsorted(cfirst, on - WINDOW_S)
        ce = np.searchsorted(cfirst, on + WINDOW_S, side="right") - 1
        med = np.array([np.median(cl_ioi[a:max(e, a + 1)]) if a < len(cl_ioi) else cl_ioi[-1]
                        for a, e in zip(cs, ce, strict=True)])  # fmt: skip
    else:
        med = np.maximum(ioi_next, 1e-3)

    y = np.zeros((n, N_TARGETS))
    y[:, 0] = vel / 127
    y[:, 1] = 0.5 + 4 * dev
    y[:, 2] = dur / np.maximum(ioi_next, 1e-3) / 2
    y[:, 3] = dur / 4
    y[:, 4] = np.nan_to_num((vel - _shift(vel, 1, np.nan) + 64) / 128, nan=0.5)
    y[:, 5] = (vel - mean_vel + 64) / 128
    y[:, 6] = (vel - cvel[cluster] + 32) / 64
    y[:, 7] = (on - cfirst[cluster]) / CLUSTER_S
    y[:, 8] = ioi_next / np.maximum(med, 1e-3) / 2
    y[:, 9] = (vel - vel.mean() + 64) / 128
    y[:, 10] = np.where(np.isnan(next_cluster_on), 0.5, 0.5 + (off - next_cluster_on) / 1.0)
    y[:, 11] = (vel - top_vel[cluster] + 64) / 128
    y[:, 12] = 0.5 + 2 * (dev - _shift(dev, 1, 0.0))
    y[:, 13] = (max_vel - min_vel) / 127
    y[:, 14] = vel > mean_vel + 10
    y[:, 15] = dur < 0.5 * ioi_next
    if not grid:
        y[:, list(GRID_TARGETS)] = 0.5
    return y


def dynamics_rows(
    parsed: dict[str, np.ndarray], lookahead_seconds: float = 0.0, max_notes: int = MAX_NOTES
) -> DynamicsRows:
    """([K, 32] inputs, [K, 16] targets, beat grid usable) for one parsed file."""
    check_parsed(parsed)
    notes = parsed["notes"]
    beats, downbeats = parsed["beats"], parsed["downbeats"]
    grid = grid_is_usable(notes[:, 0], beats)
    x = _causal_inputs(notes, beats, downbeats, grid, lookahead_seconds)
    y = _targets(notes, beats, grid)
    pick = spread_pick(len(notes), max_notes)
    inputs = np.clip(x[pick], 0, 1).astype(np.float32)
    return DynamicsRows(inputs, np.clip(y[pick], 0, 1).astype(np.float32), grid)
