"""dynamics_engine rows: 32 performance-context features -> 16 expression parameters, one row per note.

Notes are the non-drum notes of a file sorted by onset (ties by pitch); "previous"/"next" mean neighbours in
that order. Beat position b(t) of a time t is the fractional beat index from the file's tempo map
(interpolated between pretty_midi beats, extrapolated with the last beat length); "bar phase" uses downbeats.
A chord (onset cluster) is the notes whose onsets lie within CLUSTER_S = 30 ms of the cluster's first note.
Local windows are +/- 1 s around the onset. Every value is clipped to [0, 1]. Missing neighbours read 0
(velocity/pitch) or 0.5 (signed differences). The grid for timing is the 16th note (b quantised to 1/4 beat).
Caveat: performances recorded without a tempo map (MAESTRO) have a nominal 120 BPM grid, so phase features
and target 1 are relative to that grid; the rubato targets (8, 12) do not depend on it.

Inputs (32):  0 pitch/127 | 1 (pitch - prev pitch + 24)/48 | 2 (next pitch - pitch + 24)/48 | 3 chord size/8 |
4 top note of its chord | 5 bottom note of its chord | 6 notes sounding at the onset/10 | 7 onsets in the
local window/20 | 8 IOI to previous onset/2 s | 9 IOI to next onset/2 s | 10 beat phase | 11 bar phase |
12 on a downbeat (bar phase < 1/16) | 13 local tempo BPM/240 | 14-17 velocities of the previous 1..4 notes/127
| 18-21 pitches of the previous 1..4 notes/127 | 22 local mean pitch/127 | 23 local pitch range/48 |
24 (pitch - local mean pitch + 24)/48 | 25 same pitch as previous note | 26 onsets in the previous 4 s/40 |
27 seconds since the previous note of this pitch/4 (1 if none) | 28 0.5 + 0.5 sin(2 pi beat phase) |
29 0.5 + 0.5 cos(2 pi bar phase) | 30 mean velocity of the previous 8 notes/127 |
31 (velocity of prev note - velocity of the note before it + 127)/254

Targets (16):  0 velocity/127 | 1 timing: 0.5 + 4 (b - round(4b)/4) (16th-grid deviation, 0.5 = on grid) |
2 articulation: duration / IOI to next onset / 2 (0.5 = legato; last note: duration) | 3 duration/4 s |
4 (velocity - prev velocity + 64)/128 | 5 (velocity - local mean velocity + 64)/128 |
6 (velocity - chord mean velocity + 32)/64 | 7 onset - chord's first onset, / 30 ms |
8 rubato: IOI to next / median IOI of the local window / 2 | 9 (velocity - file mean velocity + 64)/128 |
10 overlap: 0.5 + (note end - next onset)/1 s | 11 (velocity - chord top-note velocity + 64)/128 |
12 0.5 + 2 (timing dev - previous note's timing dev) in beats | 13 local velocity range/127 |
14 accent: velocity > local mean velocity + 10 | 15 staccato: duration < 0.5 * IOI to next
At most MAX_NOTES rows per file, evenly spaced over its notes (deterministic).
"""

from __future__ import annotations

import numpy as np

from ml.data.symbolic.melody import spread_pick
from ml.data.symbolic.midi import check_parsed

N_INPUTS = 32
N_TARGETS = 16
MAX_NOTES = 256
CLUSTER_S = 0.03
WINDOW_S = 1.0
SETTINGS = {"kind": "dynamics_engine", "version": 1, "max_notes": MAX_NOTES, "cluster_s": CLUSTER_S,
            "window_s": WINDOW_S}  # fmt: skip
PITCH_COLUMNS = (0, 18, 19, 20, 21, 22)  # absolute pitch/127 features (MIDI transposition shifts them)
TEMPO_COLUMN = 13
RECENT_VELOCITY_COLUMN = 30  # mean velocity of the previous 8 notes / 127: the "recent velocity" baseline reads it


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


def _shift(values: np.ndarray, k: int, fill: float) -> np.ndarray:
    """values[i - k] (previous k-th) for k > 0, values[i + |k|] for k < 0; `fill` where missing."""
    out = np.full_like(values, fill, dtype=np.float64)
    if k > 0:
        out[k:] = values[:-k]
    elif k < 0:
        out[:k] = values[-k:]
    return out


def _window_stats(onsets: np.ndarray, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """Count, mean, min, max of `values` over index windows [lo, hi) (vectorised mean; loop for min/max)."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    count = (hi - lo).astype(np.float64)
    mean = (csum[hi] - csum[lo]) / np.maximum(count, 1)
    vmin = np.array([values[a:b].min() for a, b in zip(lo, hi, strict=True)])
    vmax = np.array([values[a:b].max() for a, b in zip(lo, hi, strict=True)])
    return count, mean, vmin, vmax


def dynamics_rows(parsed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """([K, 32] inputs, [K, 16] targets) for one parsed file."""
    check_parsed(parsed)
    notes = parsed["notes"]
    on, off, pitch, vel = notes[:, 0], notes[:, 1], notes[:, 2], notes[:, 3]
    n = len(notes)
    dur = off - on
    beats, downbeats = parsed["beats"], parsed["downbeats"]
    b = beat_positions(on, beats)
    q = np.round(b * 4.0) / 4.0
    dev = b - q
    beat_phase = q - np.floor(q)
    db = beat_positions(downbeats, beats) if len(downbeats) else np.zeros(1)
    bar_i = np.clip(np.searchsorted(db, q + 1e-9, side="right") - 1, 0, len(db) - 1)
    bar_len = np.diff(np.append(db, db[-1] + (db[-1] - db[-2] if len(db) > 1 else 4.0)))
    bar_phase = np.clip((q - db[bar_i]) / np.maximum(bar_len[bar_i], 1e-6), 0.0, 1.0)
    if len(beats) >= 2:
        beat_len = np.diff(beats)
        bi = np.clip(np.searchsorted(beats, on, side="right") - 1, 0, len(beat_len) - 1)
        bpm = 60.0 / np.maximum(beat_len[bi], 1e-3)
    else:
        bpm = np.full(n, 120.0)

    # Onset clusters (chords): a new cluster starts where the onset is > CLUSTER_S after the cluster's first.
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
    cmin = np.full(len(csize), 200.0)
    np.minimum.at(cmin, cluster, pitch)
    cvel = np.bincount(cluster, weights=vel) / csize
    top_vel = np.zeros(len(csize))
    is_top = pitch == cmax[cluster]
    top_vel[cluster[is_top]] = vel[is_top]

    # Onset-to-onset intervals over distinct onset times (cluster starts).
    ustarts = cfirst
    nxt_cluster_on = np.append(ustarts[1:], np.nan)[cluster]
    prv_cluster_on = np.concatenate([[np.nan], ustarts[:-1]])[cluster]
    ioi_next = np.where(np.isnan(nxt_cluster_on), dur, nxt_cluster_on - on)
    ioi_prev = np.where(np.isnan(prv_cluster_on), 0.0, on - prv_cluster_on)

    lo = np.searchsorted(on, on - WINDOW_S, side="left")
    hi = np.searchsorted(on, on + WINDOW_S, side="right")
    count, mean_pitch, min_pitch, max_pitch = _window_stats(on, pitch, lo, hi)
    _, mean_vel, min_vel, max_vel = _window_stats(on, vel, lo, hi)
    cl_ioi = np.diff(ustarts)
    if len(cl_ioi):
        # median IOI of the cluster starts inside the window
        cs = np.searchsorted(ustarts, on - WINDOW_S)
        ce = np.searchsorted(ustarts, on + WINDOW_S, side="right") - 1
        med = np.array([np.median(cl_ioi[a:max(e, a + 1)]) if a < len(cl_ioi) else cl_ioi[-1]
                        for a, e in zip(cs, ce, strict=True)])  # fmt: skip
    else:
        med = np.maximum(ioi_next, 1e-3)
    past4 = np.searchsorted(on, on - 4.0, side="left")
    sounding = np.array([np.count_nonzero(off[: i + 1] > on[i]) if i < 64 else
                         np.count_nonzero(off[max(0, i - 256) : i + 1] > on[i]) for i in range(n)])  # fmt: skip
    last_same = np.full(n, np.inf)
    seen: dict[int, float] = {}
    for i in range(n):
        p = int(pitch[i])
        if p in seen:
            last_same[i] = on[i] - seen[p]
        seen[p] = on[i]
    prev8 = np.array([vel[max(0, i - 8) : i].mean() if i else 0.0 for i in range(n)])

    x = np.zeros((n, 32))
    x[:, 0] = pitch / 127
    x[:, 1] = (pitch - _shift(pitch, 1, np.nan) + 24) / 48
    x[:, 2] = (_shift(pitch, -1, np.nan) - pitch + 24) / 48
    x[:, 3] = csize[cluster] / 8
    x[:, 4] = is_top
    x[:, 5] = pitch == cmin[cluster]
    x[:, 6] = sounding / 10
    x[:, 7] = count / 20
    x[:, 8] = ioi_prev / 2
    x[:, 9] = ioi_next / 2
    x[:, 10] = beat_phase
    x[:, 11] = bar_phase
    x[:, 12] = bar_phase < 1 / 16
    x[:, 13] = bpm / 240
    for k in range(1, 5):
        x[:, 13 + k] = _shift(vel, k, 0.0) / 127
        x[:, 17 + k] = _shift(pitch, k, 0.0) / 127
    x[:, 22] = mean_pitch / 127
    x[:, 23] = (max_pitch - min_pitch) / 48
    x[:, 24] = (pitch - mean_pitch + 24) / 48
    x[:, 25] = pitch == _shift(pitch, 1, -1.0)
    x[:, 26] = (np.arange(n) - past4) / 40
    x[:, 27] = np.where(np.isfinite(last_same), last_same / 4, 1.0)
    x[:, 28] = 0.5 + 0.5 * np.sin(2 * np.pi * beat_phase)
    x[:, 29] = 0.5 + 0.5 * np.cos(2 * np.pi * bar_phase)
    x[:, 30] = prev8 / 127
    x[:, 31] = (_shift(vel, 1, np.nan) - _shift(vel, 2, np.nan) + 127) / 254
    x[:, [1, 2, 31]] = np.nan_to_num(x[:, [1, 2, 31]], nan=0.5)

    y = np.zeros((n, 16))
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
    y[:, 10] = np.where(np.isnan(nxt_cluster_on), 0.5, 0.5 + (off - nxt_cluster_on) / 1.0)
    y[:, 11] = (vel - top_vel[cluster] + 64) / 128
    y[:, 12] = 0.5 + 2 * (dev - _shift(dev, 1, 0.0))
    y[:, 13] = (max_vel - min_vel) / 127
    y[:, 14] = vel > mean_vel + 10
    y[:, 15] = dur < 0.5 * ioi_next

    pick = spread_pick(n, MAX_NOTES)
    return (np.clip(x[pick], 0, 1).astype(np.float32), np.clip(y[pick], 0, 1).astype(np.float32))
