// Runs the plugin front-end headers (cpp/mltrain/*.h) on the cases tests/cpp/test_frontend.py writes, one
// case per input line, and prints one result line per case; the pytest side holds the Python pipeline's
// expected values and compares. Floats are printed with enough digits to round-trip (%.9g float, %.17g double).
//
// Input lines: a tag, then whitespace-separated numbers; strings are hex-encoded UTF-8.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mltrain/chords.h"
#include "mltrain/dynamics.h"
#include "mltrain/emotion.h"
#include "mltrain/harmony.h"

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
