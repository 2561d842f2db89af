// mltrain/dynamics.h: dynamics_engine's 32 causal inputs for one note, from the notes heard so far.
//
// Mirrors ml/data/symbolic/dynamics.py (`_causal_inputs`, `beat_positions`, `grid_alignment`,
// `grid_is_usable`); the table of the 32 inputs is the `## dynamics_engine` section of docs/models.md.
// Causality: the inputs of note i use the notes whose onset is strictly before onset_i, plus note i itself
// ("visible"); with a lookahead L > 0 (the exported model's `lookahead_seconds`, which the plugin must use)
// the visible notes are those with onset < onset_i + L, which widens only inputs 3-7, 22-24 and 26. So the
// plugin computes note i's inputs L seconds after its onset (at once for L = 0) from what it has heard.
//
// Bit-equality with numpy holds when the plugin is compiled without floating-point contraction
// (-ffp-contract=off, no -ffast-math): the beat position of an onset is floored to the nearest 16th, so one
// rounding step can in rare cases move a note that sits exactly half-way between two 16ths.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace mltrain {

constexpr int DYNAMICS_INPUTS = 32;   // dynamics.N_INPUTS
constexpr int DYNAMICS_TARGETS = 16;  // dynamics.N_TARGETS
constexpr double CLUSTER_S = 0.03;    // dynamics.CLUSTER_S: the chord span (seconds)
constexpr double WINDOW_S = 1.0;      // dynamics.WINDOW_S: the past window
constexpr double HISTORY_S = 4.0;     // dynamics.HISTORY_S: the longer history
constexpr double GRID_ALIGNMENT_MAX = 0.04;                // dynamics.GRID_ALIGNMENT_MAX (beats)
constexpr double TRIPLET_ALIGNMENT_MAX = 0.04 * 4 / 3;     // dynamics.TRIPLET_ALIGNMENT_MAX (beats)
constexpr int GRID_COLUMN = 2;                             // dynamics.GRID_COLUMN
constexpr int TEMPO_COLUMN = 13;                           // dynamics.TEMPO_COLUMN
constexpr int RECENT_VELOCITY_COLUMN = 30;                 // dynamics.RECENT_VELOCITY_COLUMN
constexpr std::array<int, 6> BEAT_COLUMNS = {10, 11, 12, 13, 28, 29};  // dynamics.BEAT_COLUMNS: 0 without a grid
constexpr std::array<int, 2> GRID_TARGETS = {1, 12};                   // dynamics.GRID_TARGETS: 0.5 without a grid

// A note as the plugin heard it. Notes are kept sorted by onset, then pitch (the training order; notes struck
// together in one block are sorted by pitch). `end` is the release time, or NOTE_HELD while the key is down:
// only "released by onset_i or not" is ever asked, and a held note has not been released. Durations are > 0
// (the MIDI loader drops notes with end <= start).
struct Note {
    double onset;
    double end;
    int pitch;
    int velocity;
};
constexpr double NOTE_HELD = std::numeric_limits<double>::infinity();

// The tempo map around the notes: beat times and bar-start (downbeat) times in seconds, increasing. `known`
// is input 2, "the beat grid is known": in the plugin, "the host transport gives a tempo and position"; in
// training, `grid_is_usable` of the file. Without it the beat inputs read 0 and the arrays are not read.
struct BeatGrid {
    const double* beats = nullptr;
    std::size_t n_beats = 0;
    const double* downbeats = nullptr;
    std::size_t n_downbeats = 0;
    bool known = false;
};

// dynamics.beat_positions for one time: fractional beat index, linear between beats (np.interp, same
// arithmetic), extrapolated with the first / last beat length; t / 0.5 (120 BPM) with fewer than 2 beats.
inline double beat_position(double t, const double* beats, std::size_t n) {
    if (n < 2) return t / 0.5;
    if (t > beats[n - 1]) return static_cast<double>(n - 1) + (t - beats[n - 1]) / std::max(beats[n - 1] - beats[n - 2], 1e-6);
    if (t < beats[0]) return (t - beats[0]) / std::max(beats[1] - beats[0], 1e-6);
    if (t == beats[n - 1]) return static_cast<double>(n - 1);
    const std::size_t j = static_cast<std::size_t>(std::upper_bound(beats, beats + n, t) - beats) - 1;
    if (beats[j] == t) return static_cast<double>(j);
    const double slope = (static_cast<double>(j + 1) - static_cast<double>(j)) / (beats[j + 1] - beats[j]);
    return slope * (t - beats[j]) + static_cast<double>(j);
}

// dynamics._nearest_sixteenth: floor(4b + 0.5) / 4, halves rounded up.
inline double nearest_sixteenth(double b) { return std::floor(b * 4.0 + 0.5) / 4.0; }

struct GridAlignment {
    double sixteenth;  // mean distance (beats) of the distinct onsets to the 16th grid
    double triplet;    // ... and to the 8th-triplet grid
};

// dynamics.grid_alignment (np.round is round-half-even: std::nearbyint). Infinite without 2 beats or onsets.
// Training decides once per file from all its onsets; a plugin has the host's transport instead.
inline GridAlignment grid_alignment(std::vector<double> onsets, const double* beats, std::size_t n_beats) {
    const double inf = std::numeric_limits<double>::infinity();
    if (n_beats < 2 || onsets.empty()) return {inf, inf};
    std::sort(onsets.begin(), onsets.end());
    onsets.erase(std::unique(onsets.begin(), onsets.end()), onsets.end());
    double sixteenth = 0.0, triplet = 0.0;
    for (double t : onsets) {
        const double b = beat_position(t, beats, n_beats);
        sixteenth += std::abs(b - std::nearbyint(b * 4.0) / 4.0);
        triplet += std::abs(b - std::nearbyint(b * 3.0) / 3.0);
    }
    const double n = static_cast<double>(onsets.size());
    return {sixteenth / n, triplet / n};
}

inline bool grid_is_usable(const GridAlignment& a) {
    return a.sixteenth < GRID_ALIGNMENT_MAX || a.triplet < TRIPLET_ALIGNMENT_MAX;
}

namespace dynamics_detail {

inline std::size_t first_onset_at_or_after(const Note* notes, std::size_t count, double t) {  // searchsorted left
    return static_cast<std::size_t>(
        std::lower_bound(notes, notes + count, t, [](const Note& n, double v) { return n.onset < v; }) - notes);
}

inline std::size_t first_onset_after(const Note* notes, std::size_t count, double t) {  // searchsorted right
    return static_cast<std::size_t>(
        std::upper_bound(notes, notes + count, t, [](double v, const Note& n) { return v < n.onset; }) - notes);
}

inline double clip01(double x) { return std::min(std::max(x, 0.0), 1.0); }

}  // namespace dynamics_detail

using DynamicsInput = std::array<float, DYNAMICS_INPUTS>;

// The 32 inputs of notes[i] (dynamics._causal_inputs' row i, clipped to [0, 1], float32). `notes` holds what
// the plugin has heard, sorted; notes that are not visible to note i (later onsets, or onset_i's chord-mates
// without a lookahead) may be present and are ignored. `scratch` (optional) avoids allocating on the audio
// thread once its capacity covers the onsets of HISTORY_S seconds.
inline DynamicsInput dynamics_inputs(const Note* notes, std::size_t count, std::size_t i, const BeatGrid& grid,
                                     double lookahead_seconds, std::vector<double>* scratch = nullptr) {
    using namespace dynamics_detail;
    const Note& note = notes[i];
    const double on = note.onset;
    const double pitch = note.pitch;
    const std::size_t first_same = first_onset_at_or_after(notes, count, on);  // first note starting with this one
    // Visible notes: indices [0, visible_end) plus note i.
    const std::size_t lookahead_end = std::max(first_onset_at_or_after(notes, count, on + lookahead_seconds), i + 1);
    const std::size_t visible_end = lookahead_seconds > 0 ? lookahead_end : first_same;
    const bool own_extra = i >= visible_end;

    // Chord: visible notes with |onset - onset_i| <= CLUSTER_S, plus i.
    const std::size_t chord_lo = first_onset_at_or_after(notes, count, on - CLUSTER_S);
    const std::size_t chord_hi = std::min(visible_end, first_onset_after(notes, count, on + CLUSTER_S));
    double chord_count = static_cast<double>(chord_hi - chord_lo) + (i >= chord_hi ? 1 : 0);
    double chord_min = i >= chord_hi ? pitch : std::numeric_limits<double>::infinity();
    double chord_max = i >= chord_hi ? pitch : -std::numeric_limits<double>::infinity();
    for (std::size_t j = chord_lo; j < chord_hi; ++j) {
        chord_min = std::min(chord_min, static_cast<double>(notes[j].pitch));
        chord_max = std::max(chord_max, static_cast<double>(notes[j].pitch));
    }
    // Past window: visible notes with onset >= onset_i - WINDOW_S, plus i (pitch sums are integers: exact).
    const std::size_t window_lo = first_onset_at_or_after(notes, count, on - WINDOW_S);
    double window_sum = own_extra ? pitch : 0.0;
    double window_min = own_extra ? pitch : std::numeric_limits<double>::infinity();
    double window_max = own_extra ? pitch : -std::numeric_limits<double>::infinity();
    for (std::size_t j = window_lo; j < visible_end; ++j) {
        window_sum += notes[j].pitch;
        window_min = std::min(window_min, static_cast<double>(notes[j].pitch));
        window_max = std::max(window_max, static_cast<double>(notes[j].pitch));
    }
    const double window_count = static_cast<double>(visible_end - window_lo) + (own_extra ? 1 : 0);
    const double window_mean = window_sum / std::max(window_count, 1.0);
    const std::size_t history_lo = first_onset_at_or_after(notes, count, on - HISTORY_S);
    // Visible notes not released by onset_i (note i counts): released notes all started before onset_i.
    double sounding = own_extra ? 1.0 : 0.0;
    for (std::size_t j = 0; j < visible_end; ++j) sounding += notes[j].end > on ? 1.0 : 0.0;
    // The latest earlier onset of this pitch; one more than HISTORY_S ago gives the same (clipped) 1 as none.
    double last_same = std::numeric_limits<double>::infinity();
    for (std::size_t j = first_same; j-- > 0 && on - notes[j].onset <= HISTORY_S;) {
        if (notes[j].pitch == note.pitch) {
            last_same = on - notes[j].onset;
            break;
        }
    }
    // Median gap between the distinct onsets in [onset_i - HISTORY_S, onset_i] (onset_i included).
    std::vector<double> local;
    std::vector<double>& gaps = scratch ? *scratch : local;
    gaps.clear();
    for (std::size_t j = history_lo; j < first_same; ++j) {
        const double next = j + 1 < first_same ? notes[j + 1].onset : on;
        if (next != notes[j].onset) gaps.push_back(next - notes[j].onset);
    }
    double median_gap = 0.0;
    if (!gaps.empty()) {
        const std::size_t mid = gaps.size() / 2;
        std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(mid), gaps.end());
        median_gap = gaps[mid];
        if (gaps.size() % 2 == 0) {
            const double below = *std::max_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(mid));
            median_gap = (below + median_gap) / 2.0;  // np.median: the mean of the two middle values
        }
    }
    // "prev k": the k-th last note with an onset before onset_i (index first_same - k).
    const auto prev = [&](std::size_t k) -> const Note* { return first_same >= k ? &notes[first_same - k] : nullptr; };
    const std::size_t prev8_count = std::min<std::size_t>(first_same, 8);
    double prev8 = 0.0;
    for (std::size_t k = 1; k <= prev8_count; ++k) prev8 += prev(k)->velocity;
    prev8 = prev8_count ? prev8 / static_cast<double>(prev8_count) : 0.0;

    std::array<double, DYNAMICS_INPUTS> x{};
    x[0] = pitch / 127;
    x[1] = prev(1) ? (pitch - prev(1)->pitch + 24) / 48 : 0.5;
    x[GRID_COLUMN] = grid.known ? 1.0 : 0.0;
    x[3] = chord_count / 8;
    x[4] = pitch >= chord_max ? 1.0 : 0.0;
    x[5] = pitch <= chord_min ? 1.0 : 0.0;
    x[6] = sounding / 10;
    x[7] = window_count / 20;
    x[8] = first_same > 0 ? (on - notes[first_same - 1].onset) / 2 : 0.0;
    x[9] = median_gap / 2;
    if (grid.known) {
        const double q = nearest_sixteenth(beat_position(on, grid.beats, grid.n_beats));
        const double beat_phase = q - std::floor(q);
        // Bars: D_j = beat position of downbeat j (one bar at 0 of 4 beats without downbeats).
        const std::size_t n_bars = grid.n_downbeats ? grid.n_downbeats : 1;
        const auto bar_start = [&](std::size_t j) {
            return grid.n_downbeats ? beat_position(grid.downbeats[j], grid.beats, grid.n_beats) : 0.0;
        };
        std::size_t bar = 0;  // the last bar with D_j <= q + 1e-9 (the first bar if none)
        while (bar + 1 < n_bars && bar_start(bar + 1) <= q + 1e-9) ++bar;
        double bar_length = 0.0;
        if (bar + 1 < n_bars) {
            bar_length = bar_start(bar + 1) - bar_start(bar);
        } else {  // the last bar: the previous bar's length (4 beats if only one), as np.diff(np.append(...))
            const double last = bar_start(n_bars - 1);
            bar_length = (last + (n_bars > 1 ? last - bar_start(n_bars - 2) : 4.0)) - last;
        }
        const double bar_phase = clip01((q - bar_start(bar)) / std::max(bar_length, 1e-6));
        double beat_length = 0.5;  // the interval holding the onset (first / last outside the beats)
        if (grid.n_beats >= 2) {
            const std::size_t after = static_cast<std::size_t>(std::upper_bound(grid.beats, grid.beats + grid.n_beats, on) - grid.beats);
            const std::size_t k = std::min(after > 0 ? after - 1 : 0, grid.n_beats - 2);
            beat_length = grid.beats[k + 1] - grid.beats[k];
        }
        const double pi = 3.141592653589793;  // np.pi
        x[10] = beat_phase;
        x[11] = bar_phase;
        x[12] = bar_phase < 1.0 / 16 ? 1.0 : 0.0;
        x[TEMPO_COLUMN] = 60.0 / std::max(beat_length, 1e-3) / 240;
        x[28] = 0.5 + 0.5 * std::sin(2 * pi * beat_phase);
        x[29] = 0.5 + 0.5 * std::cos(2 * pi * bar_phase);
    }
    for (std::size_t k = 1; k <= 4; ++k) {
        x[13 + k] = prev(k) ? prev(k)->velocity / 127.0 : 0.0;
        x[17 + k] = prev(k) ? prev(k)->pitch / 127.0 : 0.0;
    }
    x[22] = window_mean / 127;
    x[23] = (window_max - window_min) / 48;
    x[24] = (pitch - window_mean + 24) / 48;
    x[25] = prev(1) && prev(1)->pitch == note.pitch ? 1.0 : 0.0;
    x[26] = (static_cast<double>(visible_end - history_lo) + (own_extra ? 1 : 0)) / 40;
    x[27] = std::isfinite(last_same) ? last_same / 4 : 1.0;
    x[RECENT_VELOCITY_COLUMN] = prev8 / 127;
    x[31] = prev(1) && prev(2) ? (static_cast<double>(prev(1)->velocity - prev(2)->velocity) + 127) / 254 : 0.5;
    DynamicsInput out{};
    for (std::size_t k = 0; k < DYNAMICS_INPUTS; ++k) out[k] = static_cast<float>(clip01(x[k]));
    return out;
}

// How many leading notes of a sorted history no later note's inputs can depend on, at time `now` (the onset of
// the next note to compute): notes that started more than HISTORY_S ago, are released by now, and have at least
// 8 notes after them that started before now ("prev 1..8"). Older gaps are clipped to 1 either way (inputs 8, 27).
inline std::size_t dynamics_prunable(const Note* notes, std::size_t count, double now) {
    const std::size_t started = dynamics_detail::first_onset_at_or_after(notes, count, now);
    std::size_t k = 0;
    while (k < count && notes[k].onset < now - HISTORY_S && notes[k].end <= now && k + 8 < started) ++k;
    return k;
}

}  // namespace mltrain
