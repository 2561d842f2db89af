// mltrain/melody.h: melody_transformer's 64 inputs at a 4-bar boundary, the key frame, and key estimation.
//
// Mirrors ml/data/symbolic/melody.py (`context_vector`, `segment_stats`' occupancy and onset count,
// `key_relative_notes`, `from_key_frame`) and ml/data/symbolic/key.py (`tonic_shift`, `pitch_class_histogram`,
// `profile_scores`, `estimate_key`). Everything is in a frame whose tonic is C: the plugin transposes the notes
// of the last 4 bars by -tonic_shift(tonic) (notes leaving 0..127 drop out), and maps output k to MIDI note
// k + tonic_shift(tonic). The key is the plugin's key setting; estimate_key is what training did per file,
// for a plugin that offers "detect key" from what was played.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace mltrain {

constexpr int BARS_PER_SEGMENT = 4;              // melody.BARS_PER_SEGMENT
constexpr int MELODY_INPUT_SIZE = 64;            // melody.INPUT_SIZE
constexpr int MELODY_OUTPUT_SIZE = 128;          // melody.OUTPUT_SIZE
constexpr int MODE_COLUMN = 2;                   // melody.MODE_COLUMN
constexpr int PREV_PRESENT_COLUMN = 3;           // melody.PREV_PRESENT_COLUMN
constexpr int PREV_PITCH_CLASS_COLUMN = 4;       // melody.PREV_PITCH_CLASS_COLUMNS = 4..15
constexpr int PREV_OCTAVE_COLUMN = 16;           // melody.PREV_OCTAVE_COLUMNS = 16..23
constexpr int PREV_DENSITY_COLUMN = 24;          // melody.PREV_DENSITY_COLUMN
constexpr int PREV_MEAN_PITCH_COLUMN = 25;       // melody.PREV_MEAN_PITCH_COLUMN
constexpr int PREV_RANGE_COLUMN = 26;            // melody.PREV_RANGE_COLUMN
constexpr int PREV_WINDOW_COLUMN = 27;           // melody.PREV_WINDOW_COLUMNS = 27..63
constexpr int PREV_WINDOW_FIRST_PITCH = 40;      // melody.PREV_WINDOW_PITCHES = 40..76
constexpr double ONSETS_PER_BEAT_SCALE = 8.0;    // melody.ONSETS_PER_BEAT_SCALE
constexpr double RANGE_SCALE = 48.0;             // melody.RANGE_SCALE
constexpr double SIGNATURE_MARGIN = 0.1;         // key.SIGNATURE_MARGIN
inline constexpr std::array<double, 12> MAJOR_PROFILE = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                                         2.52, 5.19, 2.39, 3.66, 2.29, 2.88};  // key.MAJOR_PROFILE
inline constexpr std::array<double, 12> MINOR_PROFILE = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                                         2.54, 4.75, 3.98, 2.69, 3.34, 3.17};  // key.MINOR_PROFILE

using MelodyInput = std::array<float, MELODY_INPUT_SIZE>;
using Occupancy = std::array<double, MELODY_OUTPUT_SIZE>;  // seconds each key-relative pitch sounds

// A note for the melody inputs: absolute MIDI pitch; `end` may be +infinity while the note is held.
struct MelodyNote {
    double onset;
    double end;
    int pitch;
};

// key.tonic_shift: the s in -5..6 that moves `tonic` onto C when notes are transposed by -s (F# 6, G -5).
inline int tonic_shift(int tonic) { return (((tonic + 5) % 12) + 12) % 12 - 5; }

namespace melody_detail {

// numpy's pairwise sum for up to 128 values (np.sum / np.mean of a contiguous float64 array): eight running
// sums over the first n - n % 8 values, combined as a tree, then the rest in order; plain order below 8.
template <std::size_t N>
double numpy_sum(const std::array<double, N>& a) {
    static_assert(N <= 128, "numpy splits longer arrays in halves first");
    if (N < 8) {
        double s = 0.0;
        for (double v : a) s += v;
        return s;
    }
    std::array<double, 8> r{};
    for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < N - N % 8; i += 8) {
        for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < N; ++i) s += a[i];
    return s;
}

template <std::size_t N>
std::array<double, N> normalised(const std::array<double, N>& v) {  // melody._normalised
    const double peak = *std::max_element(v.begin(), v.end());
    std::array<double, N> out{};
    if (peak > 0) {
        for (std::size_t k = 0; k < N; ++k) out[k] = v[k] / peak;
    }
    return out;
}

}  // namespace melody_detail

// segment_stats for one segment [start, end): occupancy of the key-relative pitches (overlaps clipped to the
// segment, in note order as np.bincount adds them) and the onset count of the notes that stay in 0..127.
struct SegmentSummary {
    Occupancy occupancy{};
    int onsets = 0;
};

inline SegmentSummary segment_summary(const MelodyNote* notes, std::size_t count, int tonic, double start, double end) {
    SegmentSummary s;
    const int shift = tonic_shift(tonic);
    for (std::size_t k = 0; k < count; ++k) {
        const int p = notes[k].pitch - shift;
        if (p < 0 || p > 127) continue;  // key_relative_notes drops them
        const double overlap = std::max(std::min(notes[k].end, end) - std::max(notes[k].onset, start), 0.0);
        s.occupancy[static_cast<std::size_t>(p)] += overlap;
        s.onsets += notes[k].onset >= start && notes[k].onset < end ? 1 : 0;
    }
    return s;
}

// melody.context_vector plus the emotion columns (with_emotion): the input of the segment that starts now.
// `previous` is the segment just finished (nullptr for the first segment: columns 3..63 read 0); `beats` is the
// number of beats in it (16 for 4 bars of 4/4).
inline MelodyInput melody_input(double valence, double arousal, bool minor, const SegmentSummary* previous, double beats) {
    using namespace melody_detail;
    std::array<double, MELODY_INPUT_SIZE> x{};
    x[0] = valence;
    x[1] = arousal;
    x[MODE_COLUMN] = minor ? 1.0 : 0.0;
    if (previous != nullptr) {
        x[PREV_PRESENT_COLUMN] = 1.0;
        const Occupancy& occ = previous->occupancy;
        const double total = numpy_sum(occ);
        if (total > 0) {
            std::array<double, 12> pitch_class{};
            std::array<double, 8> octave{};
            Occupancy weighted{};
            for (std::size_t p = 0; p < MELODY_OUTPUT_SIZE; ++p) {
                pitch_class[p % 12] += occ[p];
                octave[std::min<std::size_t>(std::max<std::size_t>(p / 12, 1), 8) - 1] += occ[p];
                weighted[p] = static_cast<double>(p) * occ[p];
            }
            const std::array<double, 12> pc = normalised(pitch_class);
            const std::array<double, 8> oc = normalised(octave);
            for (std::size_t c = 0; c < 12; ++c) x[PREV_PITCH_CLASS_COLUMN + c] = pc[c];
            for (std::size_t b = 0; b < 8; ++b) x[PREV_OCTAVE_COLUMN + b] = oc[b];
            x[PREV_DENSITY_COLUMN] = std::min(std::max(previous->onsets / std::max(beats, 1.0) / ONSETS_PER_BEAT_SCALE, 0.0), 1.0);
            x[PREV_MEAN_PITCH_COLUMN] = numpy_sum(weighted) / total / 127.0;
            std::size_t lowest = 0, highest = MELODY_OUTPUT_SIZE - 1;
            while (!(occ[lowest] > 0)) ++lowest;
            while (!(occ[highest] > 0)) --highest;
            x[PREV_RANGE_COLUMN] = std::min(static_cast<double>(highest - lowest) / RANGE_SCALE, 1.0);
            const double peak = *std::max_element(occ.begin(), occ.end());
            for (std::size_t i = 0; i < MELODY_INPUT_SIZE - PREV_WINDOW_COLUMN; ++i) {
                x[PREV_WINDOW_COLUMN + i] = occ[PREV_WINDOW_FIRST_PITCH + i] / peak;
            }
        }
    }
    MelodyInput out{};
    for (std::size_t k = 0; k < MELODY_INPUT_SIZE; ++k) out[k] = static_cast<float>(x[k]);
    return out;
}

// melody.from_key_frame: key-frame output k -> MIDI note k + tonic_shift(tonic); notes past 0..127 drop (0).
inline std::array<float, MELODY_OUTPUT_SIZE> from_key_frame(const float* probs, int tonic) {
    std::array<float, MELODY_OUTPUT_SIZE> out{};
    const int s = tonic_shift(tonic);
    for (int k = 0; k < MELODY_OUTPUT_SIZE; ++k) {
        if (k + s >= 0 && k + s < MELODY_OUTPUT_SIZE) out[static_cast<std::size_t>(k + s)] = probs[k];
    }
    return out;
}

// key.pitch_class_histogram: seconds each pitch class sounds (note order, as np.bincount).
inline std::array<double, 12> pitch_class_histogram(const MelodyNote* notes, std::size_t count) {
    std::array<double, 12> h{};
    for (std::size_t k = 0; k < count; ++k) {
        h[static_cast<std::size_t>(((notes[k].pitch % 12) + 12) % 12)] += std::max(notes[k].end - notes[k].onset, 0.0);
    }
    return h;
}

// key.profile_scores: Pearson correlation with the rotated Krumhansl-Kessler profiles; index = key number
// (tonic for major, 12 + tonic for minor); all 0 for a silent or flat histogram.
inline std::array<double, 24> profile_scores(const std::array<double, 12>& histogram) {
    using melody_detail::numpy_sum;
    const auto standardised = [](const std::array<double, 12>& v, bool* flat) {
        const double mean = numpy_sum(v) / 12;
        std::array<double, 12> d{}, sq{};
        for (std::size_t k = 0; k < 12; ++k) {
            d[k] = v[k] - mean;
            sq[k] = d[k] * d[k];
        }
        const double std = std::sqrt(numpy_sum(sq) / 12);
        *flat = !(std > 0);
        std::array<double, 12> out{};
        for (std::size_t k = 0; k < 12; ++k) out[k] = (v[k] - mean) / std;
        return out;
    };
    std::array<double, 24> scores{};
    bool flat = false;
    const std::array<double, 12> centred = standardised(histogram, &flat);
    if (flat) return scores;
    for (std::size_t mode = 0; mode < 2; ++mode) {
        bool unused = false;
        const std::array<double, 12> base = standardised(mode ? MINOR_PROFILE : MAJOR_PROFILE, &unused);
        for (std::size_t tonic = 0; tonic < 12; ++tonic) {
            std::array<double, 12> product{};
            for (std::size_t k = 0; k < 12; ++k) product[k] = centred[k] * base[(k + 12 - tonic) % 12];  // np.roll
            scores[12 * mode + tonic] = numpy_sum(product) / 12;
        }
    }
    return scores;
}

struct Key {
    int tonic;  // pitch class, C = 0
    bool minor;
    bool from_signature;  // key.Key.source == "signature"
};

// key.relative_key_number: C major (0) <-> A minor (21).
inline int relative_key_number(int key_number) {
    const int tonic = key_number % 12;
    return key_number >= 12 ? (tonic + 3) % 12 : 12 + (tonic + 9) % 12;
}

// key.estimate_key: the first key signature (a key number, or -1 for none) if the notes agree with it or its
// relative key (score within SIGNATURE_MARGIN of the best), else the best-scoring key (first on ties).
inline Key estimate_key(const std::array<double, 12>& histogram, int signature_key_number) {
    const std::array<double, 24> scores = profile_scores(histogram);
    const int best = static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
    if (signature_key_number >= 0) {
        for (int candidate : {signature_key_number, relative_key_number(signature_key_number)}) {
            if (scores[static_cast<std::size_t>(candidate)] >= scores[static_cast<std::size_t>(best)] - SIGNATURE_MARGIN) {
                return {candidate % 12, candidate >= 12, true};
            }
        }
    }
    return {best % 12, best >= 12, false};
}

}  // namespace mltrain
