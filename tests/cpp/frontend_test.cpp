// Runs the plugin front-end headers (ml/cpp/mltrain/*.h) on the cases tests/cpp/test_frontend.py writes, one
// case per input line, and prints one result line per case; the pytest side holds the Python pipeline's
// expected values and compares. Floats are printed with enough digits to round-trip (%.9g float, %.17g double).
//
// Input lines: a tag, then whitespace-separated numbers; strings are hex-encoded UTF-8.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "mltrain/chords.h"
#include "mltrain/dynamics.h"
#include "mltrain/emotion.h"
#include "mltrain/harmony.h"
#include "mltrain/logmel.h"
#include "mltrain/melody.h"

namespace {

void put(std::ostringstream& out, float value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, " %.9g", static_cast<double>(value));
    out << buffer;
}

template <typename Array>
void put_all(std::ostringstream& out, const Array& values) {
    for (float v : values) put(out, v);
}

std::string unhex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::strtol(hex.substr(i, 2).c_str(), nullptr, 16)));
    }
    return out;
}

std::vector<double> read_doubles(std::istringstream& in, std::size_t n) {
    std::vector<double> values(n);
    for (double& v : values) in >> v;
    return values;
}

const mltrain::EmotionDecoder& decoder() {
    static const mltrain::EmotionDecoder instance;
    return instance;
}

std::string run_case(const std::string& line) {
    std::istringstream in(line);
    std::string tag;
    in >> tag;
    std::ostringstream out;
    out << tag;
    if (tag == "encode") {
        double v = 0, a = 0;
        in >> v >> a;
        put_all(out, mltrain::emotion_encode(v, a));
    } else if (tag == "decode") {
        const std::vector<double> e = read_doubles(in, mltrain::EMBEDDING_SIZE);
        const std::size_t index = decoder().nearest_index(e.data());
        const mltrain::ValenceArousal va = decoder().decode(e.data());
        out << ' ' << index;
        put(out, va.valence);
        put(out, va.arousal);
    } else if (tag == "chord") {
        std::string hex;
        in >> hex;
        const std::optional<int> parsed = mltrain::parse_chord(unhex(hex == "-" ? "" : hex));
        out << ' ' << (parsed ? *parsed : -2);
        if (parsed) out << ' ' << mltrain::chord_name(*parsed);
    } else if (tag == "harmony") {
        double v = 0, a = 0;
        std::size_t n = 0;
        in >> v >> a >> n;
        // Streaming, as the plugin does: a row is due when the next merged chord arrives and neither is N.C.
        mltrain::ChordHistory history;
        bool any = false;
        std::size_t rows = 0;
        std::ostringstream values;
        for (std::size_t t = 0; t < n; ++t) {
            int c = 0;
            in >> c;
            if (any && history.current() == c) continue;
            if (any && history.current() != mltrain::NO_CHORD && c != mltrain::NO_CHORD) {
                put_all(values, mltrain::harmony_input(v, a, history.context()));
                ++rows;
            }
            history.push(c);
            any = true;
        }
        out << ' ' << rows << values.str();
    } else if (tag == "dynamics") {
        // dynamics L known n_beats beats... n_downbeats downbeats... n_notes (onset end pitch velocity)...
        double lookahead = 0;
        int known = 0;
        std::size_t n_beats = 0, n_downbeats = 0, n = 0;
        in >> lookahead >> known >> n_beats;
        const std::vector<double> beats = read_doubles(in, n_beats);
        in >> n_downbeats;
        const std::vector<double> downbeats = read_doubles(in, n_downbeats);
        in >> n;
        std::vector<mltrain::Note> notes(n);
        std::vector<double> onsets;
        for (mltrain::Note& note : notes) {
            in >> note.onset >> note.end >> note.pitch >> note.velocity;
            onsets.push_back(note.onset);
        }
        const mltrain::GridAlignment alignment = mltrain::grid_alignment(onsets, beats.data(), n_beats);
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, " %.17g %.17g %d", alignment.sixteenth, alignment.triplet,
                      mltrain::grid_is_usable(alignment) ? 1 : 0);
        out << ' ' << n << buffer;
        const mltrain::BeatGrid grid{beats.data(), n_beats, downbeats.data(), n_downbeats, known != 0};
        for (std::size_t i = 0; i < n; ++i) put_all(out, mltrain::dynamics_inputs(notes.data(), n, i, grid, lookahead));
        // The plugin's view: at onset_i + L it has heard the notes that started by then, does not know the
        // releases still to come, and has pruned what no later note needs.
        std::vector<double> scratch;
        for (std::size_t i = 0; i < n; ++i) {
            const double now = notes[i].onset + lookahead;
            std::vector<mltrain::Note> heard;
            for (const mltrain::Note& note : notes) {
                if (note.onset > now) break;
                heard.push_back(note);
                if (heard.back().end > now) heard.back().end = mltrain::NOTE_HELD;
            }
            const std::size_t drop = mltrain::dynamics_prunable(heard.data(), heard.size(), notes[i].onset);
            put_all(out, mltrain::dynamics_inputs(heard.data() + drop, heard.size() - drop, i - drop, grid,
                                                  lookahead, &scratch));
        }
    } else if (tag == "logmel") {
        // logmel n samples...: offline frames (double) and window inputs, then the stream fed in chunks of
        // 1..512 samples; prints how many stream frames / inputs differ from the offline ones (exactly).
        std::size_t n = 0;
        in >> n;
        std::vector<float> y(n);
        for (float& v : y) in >> v;
        const std::vector<mltrain::MelFrame> frames = mltrain::log_mel(y.data(), n);
        const std::vector<mltrain::MelInput> windows = mltrain::window_vectors(frames);
        out << ' ' << frames.size();
        char buffer[32];
        for (const mltrain::MelFrame& frame : frames) {
            for (double v : frame) {
                std::snprintf(buffer, sizeof buffer, " %.17g", v);
                out << buffer;
            }
        }
        out << ' ' << windows.size();
        for (const mltrain::MelInput& w : windows) put_all(out, w);
        auto stream = std::make_unique<mltrain::LogMelStream>();
        std::size_t mismatches = 0, checked = 0, at = 0, chunk = 1;
        const auto check = [&](std::size_t completed) {
            if (completed == 0) return;
            const std::size_t t = stream->frames_seen() - 1;
            mismatches += t >= frames.size() || stream->last_frame() != frames[t];
            if (t + 1 >= mltrain::WINDOW_FRAMES && (t + 1 - mltrain::WINDOW_FRAMES) % mltrain::WINDOW_HOP_FRAMES == 0) {
                const std::size_t w = (t + 1 - mltrain::WINDOW_FRAMES) / mltrain::WINDOW_HOP_FRAMES;
                mismatches += w >= windows.size() || stream->input() != windows[w];
                ++checked;
            }
        };
        while (at < n) {
            const std::size_t take = std::min(chunk, n - at);
            check(stream->push(y.data() + at, take));
            at += take;
            chunk = chunk * 7 % 509 + 1;  // 1..509: at most one frame completes per push
        }
        for (std::size_t k = 0; k < mltrain::N_FFT / 2; ++k) {
            const float zero = 0.0f;
            check(stream->push(&zero, 1));
        }
        if (frames.size() <= mltrain::WINDOW_FRAMES) {
            mismatches += stream->input() != windows[0];
            ++checked;
        }
        out << ' ' << (stream->frames_seen() == frames.size() ? mismatches : mismatches + 1) << ' ' << checked;
    } else if (tag == "melody") {
        // melody v a signature n_notes (onset end pitch)... n_segments (start end beats)...: the key the notes
        // give, then the input of every segment from the one before it.
        double v = 0, a = 0;
        int signature = -1;
        std::size_t n = 0, segments = 0;
        in >> v >> a >> signature >> n;
        std::vector<mltrain::MelodyNote> notes(n);
        for (mltrain::MelodyNote& note : notes) in >> note.onset >> note.end >> note.pitch;
        in >> segments;
        const std::vector<double> bounds = read_doubles(in, 3 * segments);
        const mltrain::Key key = mltrain::estimate_key(mltrain::pitch_class_histogram(notes.data(), n), signature);
        out << ' ' << key.tonic << ' ' << key.minor << ' ' << key.from_signature << ' ' << segments;
        for (std::size_t k = 0; k < segments; ++k) {
            if (k == 0) {
                put_all(out, mltrain::melody_input(v, a, key.minor, nullptr, 0.0));
                continue;
            }
            const mltrain::SegmentSummary previous =
                mltrain::segment_summary(notes.data(), n, key.tonic, bounds[3 * (k - 1)], bounds[3 * (k - 1) + 1]);
            put_all(out, mltrain::melody_input(v, a, key.minor, &previous, bounds[3 * (k - 1) + 2]));
        }
    } else if (tag == "keyframe") {
        int tonic = 0;
        in >> tonic;
        std::vector<float> probs(mltrain::MELODY_OUTPUT_SIZE);
        for (float& p : probs) in >> p;
        out << ' ' << mltrain::tonic_shift(tonic);
        put_all(out, mltrain::from_key_frame(probs.data(), tonic));
    } else {
        out << " unknown";
    }
    return out.str();
}

}  // namespace

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        if (!line.empty()) std::cout << run_case(line) << '\n';
    }
    return 0;
}
