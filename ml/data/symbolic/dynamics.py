"""dynamics_engine rows: 32 causal performance-context inputs -> 16 expression targets, one row per note.

The exact spec the plugin's C++ implements is the `## dynamics_engine` section of docs/models.md; in short:

Notes: the file's non-drum notes sorted by onset, then pitch (exact ties in track order). **Causality**: the
inputs of note i use only notes whose onset is strictly before onset_i, plus note i itself ("visible" notes).
With a lookahead L > 0 (`lookahead_seconds`, part of the cache key and written into the export metadata) the
visible notes are those with onset < onset_i + L (L = 0.03 lets a chord's notes see each other); this widens
the chord, sounding and window inputs 3-7, 22-24, 26 only: "prev k" always counts strictly earlier onsets.
The one file-level input is 2, "beat grid known" (below); in the plugin it means "the host gives a tempo".
Targets may use the note's own future (its duration, the next onset): they are what the model predicts.

Beat grid: b(t) = fractional beat index of time t (the tempo map's beats, linear in between, extrapolated with
the first / last beat length); q = floor(4b + 0.5)/4 (nearest 16th); dev = b - q. A file's grid is **known**
when it has 2+ beats and its distinct onsets lie on it: mean distance to the 16th grid < GRID_ALIGNMENT_MAX =
0.04 beat (uniform-random onsets give 1/16 = 0.0625) or to the 8th-triplet grid < TRIPLET_ALIGNMENT_MAX =
0.0533 (random: 1/12). Without it (MAESTRO: a nominal 120 BPM map) input 2 = 0, the beat inputs BEAT_COLUMNS
= 10-13, 28, 29 read 0 and the grid targets GRID_TARGETS = 1, 12 read 0.5 (on the grid).

Sets: past window = visible notes with onset >= onset_i - 1 s, plus i; chord = visible notes with |onset -
onset_i| <= 30 ms, plus i; prev k = the k-th last note with onset < onset_i. Values are clipped to [0, 1].

Inputs: 0 pitch/127 | 1 (pitch - prev1 pitch + 24)/48, 0.5 if none | 2 beat grid known | 3 chord size/8 |
4 pitch >= every chord pitch | 5 pitch <= every chord pitch | 6 visible notes not released by onset_i (end >
onset_i, or i)/10 | 7 past-window notes/20 | 8 (onset_i - latest earlier onset)/2 s, 0 if none | 9 median gap
between consecutive distinct onsets in [onset_i - 4 s, onset_i]/2 s, 0 if one | 10 beat phase q - floor(q) |
11 bar phase | 12 bar phase < 1/16 | 13 BPM of the beat holding the onset/240 | 14-17 velocity of prev 1-4/127 |
18-21 pitch of prev 1-4/127 (0 if none) | 22 past-window mean pitch/127 | 23 past-window (max - min pitch)/48 |
24 (pitch - past-window mean + 24)/48 | 25 pitch == prev1 pitch | 26 visible notes with onset >= onset_i - 4 s,
plus i, /40 | 27 (onset_i - latest earlier onset of this pitch)/4 s, 1 if none | 28 0.5 + 0.5 sin(2 pi beat
phase) | 29 0.5 + 0.5 cos(2 pi bar phase) | 30 RECENT_VELOCITY_COLUMN: mean velocity of prev 1-8 (those that
exist)/127, 0 if none | 31 (prev1 velocity - prev2 velocity + 127)/254, 0.5 if either is missing.

Targets (clusters: greedy, a note more than 30 ms after its cluster's first onset starts a new one; "next onset"
= the next cluster's first onset; "local" = notes with onset in [onset_i - 1 s, onset_i + 1 s]): 0 velocity/127
| 1 0.5 + 4 dev | 2 duration/IOI to the next onset/2 (last cluster: IOI = duration) | 3 duration/4 s |
4 (velocity - previous note's velocity + 64)/128 | 5 (velocity - local mean + 64)/128 | 6 (velocity - cluster
mean + 32)/64 | 7 (onset - cluster's first onset)/30 ms | 8 IOI to next/median gap between consecutive cluster
starts in the local span/2 | 9 (velocity - file mean + 64)/128 | 10 0.5 + (end - next onset)/1 s, 0.5 for the
last cluster | 11 (velocity - cluster top note's velocity + 64)/128 | 12 0.5 + 2 (dev - previous note's dev) |
13 local velocity range/127 | 14 velocity > local mean + 10 | 15 duration < 0.5 IOI to next.

At most MAX_NOTES rows per file, evenly spaced over its notes (the choice depends on the note count; every row
is computed from all notes first, so each chosen row is causal).
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
GRID_ALIGNMENT_MAX = 0.04  # mean distance (beats) of the distinct onsets to the 16th grid: below it, a grid
TRIPLET_ALIGNMENT_MAX = 0.04 * 4 / 3  # ... or to the 8th-triplet grid (same fraction of its uniform value 1/12)
SETTINGS = {"kind": "dynamics_engine", "version": 3, "max_notes": MAX_NOTES, "cluster_s": CLUSTER_S,
            "window_s": WINDOW_S, "history_s": HISTORY_S, "grid_alignment_max": GRID_ALIGNMENT_MAX,
            "triplet_alignment_max": TRIPLET_ALIGNMENT_MAX}  # fmt: skip
GRID_COLUMN = 2
PITCH_COLUMNS = (0, 18, 19, 20, 21, 22)  # absolute pitch/127 features (MIDI transposition shifts them)
SECONDS_COLUMNS = (8, 9, 27)  # seconds-based features (MIDI tempo scaling divides them)
TEMPO_COLUMN = 13
BEAT_COLUMNS = (10, 11, 12, 13, 28, 29)  # 0 without a usable beat grid
RECENT_VELOCITY_COLUMN = 30  # mean velocity of the previous 8 notes / 127: the "recent velocity" baseline reads it
GRID_TARGETS = (1, 12)  # 0.5 without a usable beat grid
SECONDS_TARGETS = (3, 7)  # duration / 4 s, cluster offset / 30 ms (MIDI tempo scaling divides them)
CENTRED_SECONDS_TARGETS = (10,)  # overlap 0.5 + seconds (tempo scaling divides the seconds)


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


def _nearest_sixteenth(b: np.ndarray) -> np.ndarray:
    """floor(4b + 0.5) / 4: the nearest 16th, halves rounded up (what C++ floor(4 * b + 0.5) / 4 gives)."""
    return np.floor(b * 4.0 + 0.5) / 4.0


def grid_alignment(onsets: np.ndarray, beats: np.ndarray) -> tuple[float, float]:
    """Mean distance in beats of the distinct onsets to the 16th grid and to the 8th-triplet grid (inf if none)."""
    if len(beats) < 2 or len(onsets) == 0:
        return float("inf"), float("inf")
    b = beat_positions(np.unique(onsets), beats)
    sixteenth = float(np.abs(b - np.round(b * 4.0) / 4.0).mean())
    triplet = float(np.abs(b - np.round(b * 3.0) / 3.0).mean())
    return sixteenth, triplet


def grid_is_usable(onsets: np.ndarray, beats: np.ndarray) -> bool:
    """True when the onsets line up with the file's beat grid (see the module docstring)."""
    sixteenth, triplet = grid_alignment(onsets, beats)
    return sixteenth < GRID_ALIGNMENT_MAX or triplet < TRIPLET_ALIGNMENT_MAX


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


def _median_recent_ioi(on: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row: median interval between the distinct onsets in [onset - HISTORY_S, onset] (0 if under 2)."""
    unique = np.unique(on)
    u = np.searchsorted(unique, on[rows], side="left")  # index of the row's own onset among the distinct ones
    lo = np.searchsorted(unique, unique[u] - HISTORY_S, side="left")
    gaps = np.diff(unique)
    return np.array([float(np.median(gaps[a:b])) if b > a else 0.0 for a, b in zip(lo, u, strict=True)])


def _causal_inputs(
    notes: np.ndarray, beats: np.ndarray, downbeats: np.ndarray, grid: bool, lookahead: float, rows: np.ndarray
) -> np.ndarray:
    """The [len(rows), 32] inputs of the notes `rows` (each computed from all the notes it may see)."""
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
    x[:, 6] = (visible_end + (own >= visible_end) - released) / 10
    x[:, 7] = window_count / 20
    x[:, 8] = np.nan_to_num(on - prev_onset, nan=0.0) / 2
    x[rows, 9] = _median_recent_ioi(on, rows) / 2
    if grid:
        q = _nearest_sixteenth(beat_positions(on, beats))
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
    return x[rows]


def _targets(notes: np.ndarray, beats: np.ndarray, grid: bool, rows: np.ndarray) -> np.ndarray:
    """The [len(rows), 16] targets of the notes `rows`."""
    on, off, pitch, vel = notes[:, 0], notes[:, 1], notes[:, 2], notes[:, 3]
    n = len(notes)
    dur = off - on
    b = beat_positions(on, beats)
    dev = b - _nearest_sixteenth(b)
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
        cs = np.searchsorted(cfirst, on[rows] - WINDOW_S)
        ce = np.searchsorted(cfirst, on[rows] + WINDOW_S, side="right") - 1
        med = np.ones(n)  # only the rows' values are used
        med[rows] = [np.median(cl_ioi[a:max(e, a + 1)]) if a < len(cl_ioi) else cl_ioi[-1]
                     for a, e in zip(cs, ce, strict=True)]  # fmt: skip
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
    return y[rows]


def dynamics_rows(
    parsed: dict[str, np.ndarray], lookahead_seconds: float = 0.0, max_notes: int = MAX_NOTES
) -> DynamicsRows:
    """([K, 32] inputs, [K, 16] targets, beat grid usable) for one parsed file."""
    check_parsed(parsed)
    notes = parsed["notes"]
    beats, downbeats = parsed["beats"], parsed["downbeats"]
    grid = grid_is_usable(notes[:, 0], beats)
    pick = spread_pick(len(notes), max_notes)
    x = _causal_inputs(notes, beats, downbeats, grid, lookahead_seconds, pick)
    y = _targets(notes, beats, grid, pick)
    return DynamicsRows(np.clip(x, 0, 1).astype(np.float32), np.clip(y, 0, 1).astype(np.float32), grid)
