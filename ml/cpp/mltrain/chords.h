// mltrain/chords.h: chord symbols -> the 64-class vocabulary of harmony_predictor.
//
// Mirrors ml/data/symbolic/chords.py (`parse_chord`, `_quality`, `chord_class`, `chord_name`,
// `transpose_class`, `parse_progression`). Class = 12 * quality + root (maj 0..11, min 12..23, dom7 24..35,
// min7 36..47, dim 48..59) and 60..63 augmented triads by root mod 4. The Python module's docstring lists the
// spellings; this file follows its regular expressions step by step, so a symbol the training data parsed one
// way parses the same way here. Symbols are UTF-8 (the accidentals ♯ ♭ and the qualities Δ ø ° are
// multi-byte); case folding is ASCII-only, which matches Python's str.lower() on every pattern that matters
// (no non-ASCII letter lowers to one the patterns look for).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mltrain {

constexpr int VOCAB_SIZE = 64;  // chords.VOCAB_SIZE
constexpr int NO_CHORD = -1;    // chords.NO_CHORD: N.C. is not a class; it clears the chord context
constexpr int AUG_BASE = 60;    // chords.AUG_BASE
inline constexpr std::array<const char*, 12> PITCH_NAMES = {"C",  "C#", "D",  "Eb", "E",  "F",
                                                            "F#", "G",  "Ab", "A",  "Bb", "B"};

// chords.QUALITIES ("maj", "min", "dom7", "min7", "dim") in order, then "aug" (not a multiple of 12).
enum class Quality { maj = 0, min = 1, dom7 = 2, min7 = 3, dim = 4, aug = 5 };

// chords.chord_class: class index of a root pitch class and a quality.
inline int chord_class(int root, Quality quality) {
    const int pc = ((root % 12) + 12) % 12;  // Python's % is never negative
    if (quality == Quality::aug) return AUG_BASE + pc % 4;
    return 12 * static_cast<int>(quality) + pc;
}

// chords.transpose_class: the class of a chord moved by `semitones` (N.C. stays N.C.).
inline int transpose_class(int index, int semitones) {
    if (index == NO_CHORD) return NO_CHORD;
    if (index >= AUG_BASE) return AUG_BASE + (((index - AUG_BASE + semitones) % 4) + 4) % 4;
    return 12 * (index / 12) + (((index % 12 + semitones) % 12) + 12) % 12;
}

// chords.chord_name: e.g. 25 -> "C#7", 60 -> "C+", NO_CHORD -> "N.C."; "" for an index outside the vocabulary.
inline std::string chord_name(int index) {
    if (index == NO_CHORD) return "N.C.";
    if (index < 0 || index >= VOCAB_SIZE) return "";
    if (index >= AUG_BASE) return std::string(PITCH_NAMES[static_cast<std::size_t>(index - AUG_BASE)]) + "+";
    static constexpr std::array<const char*, 5> suffix = {"", "m", "7", "m7", "dim"};
    return std::string(PITCH_NAMES[static_cast<std::size_t>(index % 12)]) + suffix[static_cast<std::size_t>(index / 12)];
}

namespace chords_detail {

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// Python's str.isspace() code points (what str.strip() removes).
inline bool is_python_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Decodes the UTF-8 code point of s[start, start + length) (length 1..4); U+FFFD if malformed.
inline char32_t decode_utf8(std::string_view s, std::size_t start, std::size_t length) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[start + k]); };
    if (length == 1) return byte(0);
    char32_t c = byte(0) & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) c = (c << 6) | (byte(k) & 0x3F);
    return c;
}

inline std::size_t utf8_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead >> 5) == 0x6) return 2;
    if ((lead >> 4) == 0xE) return 3;
    if ((lead >> 3) == 0x1E) return 4;
    return 1;
}

// str.strip(): drops leading and trailing Python whitespace code points (ASCII and Unicode spaces).
inline std::string_view python_strip(std::string_view s) {
    while (!s.empty()) {
        const std::size_t n = std::min(utf8_length(static_cast<unsigned char>(s[0])), s.size());
        if (!is_python_space(decode_utf8(s, 0, n))) break;
        s.remove_prefix(n);
    }
    while (!s.empty()) {
        std::size_t start = s.size() - 1;  // walk back over continuation bytes to the last code point's lead
        while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        if (!is_python_space(decode_utf8(s, start, s.size() - start))) break;
        s.remove_suffix(s.size() - start);
    }
    return s;
}

inline void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
}

// re.sub(r"\(.*?\)", "", q): each '(' up to the nearest ')' on the same line is removed.
inline std::string remove_parenthesised(std::string_view q) {
    std::string out;
    std::size_t i = 0;
    while (i < q.size()) {
        if (q[i] == '(') {
            std::size_t j = i + 1;
            while (j < q.size() && q[j] != ')' && q[j] != '\n') ++j;
            if (j < q.size() && q[j] == ')') {
                i = j + 1;
                continue;
            }
        }
        out.push_back(q[i++]);
    }
    return out;
}

// chords._has_seventh: re.search(r"(7|9|11|13)", text).
inline bool has_seventh(std::string_view text) {
    return text.find('7') != std::string_view::npos || text.find('9') != std::string_view::npos ||
           text.find("11") != std::string_view::npos || text.find("13") != std::string_view::npos;
}

inline bool starts_with_extension(std::string_view s) {  // re.match(r"^(7|9|11|13)", s)
    return starts_with(s, "7") || starts_with(s, "9") || starts_with(s, "11") || starts_with(s, "13");
}

inline bool is_accidental(std::string_view s, std::size_t at, int* delta, std::size_t* length) {
    if (s[at] == '#' || s[at] == 'b') {
        *delta = s[at] == '#' ? 1 : -1;
        *length = 1;
        return true;
    }
    if (s.substr(at, 3) == "\u266F" || s.substr(at, 3) == "\u266D") {  // ♯ ♭
        *delta = s.substr(at, 3) == "\u266F" ? 1 : -1;
        *length = 3;
        return true;
    }
    return false;
}

inline int letter_pitch(char c) {  // chords._LETTERS, either case; -1 if not A-G
    switch (c >= 'a' && c <= 'g' ? static_cast<char>(c - 'a' + 'A') : c) {
        case 'C': return 0;
        case 'D': return 2;
        case 'E': return 4;
        case 'F': return 5;
        case 'G': return 7;
        case 'A': return 9;
        case 'B': return 11;
        default: return -1;
    }
}

// chords._quality: the quality part of a symbol (root and bass removed) -> a vocabulary quality, or none
// (ChordError in Python).
inline std::optional<Quality> quality_of(std::string_view part) {
    std::string q(python_strip(remove_parenthesised(part)));
    replace_all(q, "\u0394", "maj");  // Δ
    replace_all(q, "^", "maj");
    replace_all(q, "\u00F8", "m7b5");  // ø
    replace_all(q, "\u00B0", "dim");   // °
    if (q == "0" || starts_with(q, "07")) q = "m7b5" + q.substr(1);  // a zero for ø: "B07" in iReal charts
    for (std::string_view minor : {"m", "min", "-"}) {                // "Cm/maj7" is mMaj7, not a slash chord
        const std::string_view after = std::string_view(q).substr(std::min(q.size(), minor.size() + 1));
        if (starts_with(q, std::string(minor) + "/") && (starts_with(after, "maj") || starts_with(after, "M"))) {
            q.erase(minor.size(), 1);
            break;
        }
    }
    const std::string low = ascii_lower(q);
    for (std::string_view plain : {"", "maj", "major", "5", "2", "6", "69", "6/9", "add9", "add2"}) {
        if (low == plain) return Quality::maj;
    }
    if (starts_with(q, "M") || (starts_with(low, "ma") && !starts_with(low, "madd"))) return Quality::maj;
    for (std::string_view half : {"m7b5", "min7b5", "mi7b5", "-7b5", "h"}) {
        if (starts_with(low, half)) return Quality::dim;
    }
    if (starts_with(low, "dim") || starts_with(low, "o")) return Quality::dim;
    if (starts_with(low, "aug") || starts_with(low, "+") || starts_with(low, "#5")) {
        return has_seventh(low) ? Quality::dom7 : Quality::aug;
    }
    if (starts_with(low, "sus")) return has_seventh(low) ? Quality::dom7 : Quality::maj;
    // re.match(r"^(minor|min|mi|m|-)(.*)$", q): '.' stops at a newline, so a symbol holding one never matches.
    if (q.find('\n') == std::string::npos) {
        for (std::string_view minor : {"minor", "min", "mi", "m", "-"}) {
            if (!starts_with(q, minor)) continue;
            const std::string rest = ascii_lower(std::string_view(q).substr(minor.size()));
            if (starts_with(rest, "maj") || starts_with(rest, "m")) return Quality::min;  // minor-major seventh
            if (starts_with_extension(rest)) return Quality::min7;
            if (rest.empty() || rest == "6" || rest == "69" || rest == "6/9" || starts_with(rest, "6") ||
                starts_with(rest, "add") || starts_with(rest, "b6")) {
                return Quality::min;
            }
            return std::nullopt;
        }
    }
    if (starts_with_extension(low) || starts_with(low, "alt")) return Quality::dom7;
    if (starts_with(low, "6") || starts_with(low, "2") || starts_with(low, "5") || starts_with(low, "add")) {
        return Quality::maj;
    }
    return std::nullopt;
}

}  // namespace chords_detail

// chords.parse_chord: class 0..63, NO_CHORD for N.C. ("N.C.", "NC", "N", "n", "none", "no chord"), or
// std::nullopt where Python raises ChordError (no root A-G, or an unknown quality).
inline std::optional<int> parse_chord(std::string_view symbol) {
    using namespace chords_detail;
    const std::string_view text = python_strip(symbol);
    const std::string low = ascii_lower(text);
    for (std::string_view nc : {"n.c.", "n.c", "nc", "n", "no chord", "none"}) {
        if (low == nc) return NO_CHORD;
    }
    if (text.empty() || letter_pitch(text[0]) < 0) return std::nullopt;
    int root = letter_pitch(text[0]);
    std::size_t at = 1;
    int delta = 0;
    std::size_t length = 0;
    while (at < text.size() && is_accidental(text, at, &delta, &length)) {
        root += delta;
        at += length;
    }
    std::string_view rest = text.substr(at);
    if (starts_with(rest, ":")) rest.remove_prefix(1);  // Harte-style "C:maj7"
    // _BASS = r"/([A-Ga-g][#b♯♭]*)$": only the last '/' can start it ("6/9" is a quality, not a bass).
    const std::size_t slash = rest.rfind('/');
    if (slash != std::string_view::npos && slash + 1 < rest.size() && letter_pitch(rest[slash + 1]) >= 0) {
        std::size_t k = slash + 2;
        while (k < rest.size() && is_accidental(rest, k, &delta, &length)) k += length;
        if (k == rest.size()) rest = rest.substr(0, slash);
    }
    const std::optional<Quality> quality = quality_of(rest);
    if (!quality) return std::nullopt;
    return chord_class(root, *quality);
}

// What chords.parse_progression does with each symbol: a symbol the vocabulary cannot place is a break in the
// history, like N.C.
inline int parse_chord_or_no_chord(std::string_view symbol) { return parse_chord(symbol).value_or(NO_CHORD); }

}  // namespace mltrain
