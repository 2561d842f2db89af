// mltrain/harmony.h: harmony_predictor's 128 inputs, emotion embedding ++ decayed chord context.
//
// Mirrors ml/data/symbolic/harmony.py (`merge_repeats`, `chord_context`, `harmony_rows`'s input row).
// context[k] = sum_{j=0..3} DECAY^j * [class(chord_{t-j}) == k] over the merged history (immediate repeats
// merged: the model predicts chord changes); an N.C. clears the history. Values lie in [0, 1.875].
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "chords.h"
#include "emotion.h"

namespace mltrain {

constexpr int CONTEXT_LENGTH = 4;  // harmony.CONTEXT_LENGTH
constexpr double DECAY = 0.5;      // harmony.DECAY
constexpr int HARMONY_INPUT_SIZE = EMBEDDING_SIZE + VOCAB_SIZE;

using ChordContext = std::array<float, VOCAB_SIZE>;
using HarmonyInput = std::array<float, HARMONY_INPUT_SIZE>;

// harmony.merge_repeats: [C, C, G, G, C] -> [C, G, C] (N.C. repeats merge too).
inline std::vector<int> merge_repeats(const std::vector<int>& classes) {
    std::vector<int> merged;
    for (int c : classes) {
        if (merged.empty() || merged.back() != c) merged.push_back(c);
    }
    return merged;
}

// harmony.chord_context of a merged history (most recent last): its last CONTEXT_LENGTH entries, newest first,
// stopping at an N.C. Classes outside 0..63 are ignored (Python would raise).
inline ChordContext chord_context(const int* history, std::size_t count) {
    ChordContext context{};
    const std::size_t n = count < CONTEXT_LENGTH ? count : CONTEXT_LENGTH;
    for (std::size_t j = 0; j < n; ++j) {
        const int c = history[count - 1 - j];
        if (c == NO_CHORD) break;
        if (c >= 0 && c < VOCAB_SIZE) context[static_cast<std::size_t>(c)] += static_cast<float>(std::pow(DECAY, j));
    }
    return context;
}

// One input row: emotion.encode(valence, arousal) ++ context, as harmony_rows builds it.
inline HarmonyInput harmony_input(double valence, double arousal, const ChordContext& context) {
    HarmonyInput x{};
    const Embedding e = emotion_encode(valence, arousal);
    for (std::size_t k = 0; k < EMBEDDING_SIZE; ++k) x[k] = e[k];
    for (std::size_t k = 0; k < VOCAB_SIZE; ++k) x[EMBEDDING_SIZE + k] = context[k];
    return x;
}

// The plugin's running history: push each chord as it is played (a class, or NO_CHORD); repeats merge as in
// training, and context() is the input for predicting the next change. Fixed size, no allocation.
class ChordHistory {
  public:
    void push(int chord) {
        if (size_ > 0 && last_[size_ - 1] == chord) return;  // merge_repeats
        if (size_ == CONTEXT_LENGTH) {
            for (std::size_t k = 1; k < CONTEXT_LENGTH; ++k) last_[k - 1] = last_[k];
            --size_;
        }
        last_[size_++] = chord;
    }
    void clear() { size_ = 0; }
    // The current chord (NO_CHORD before any): harmony_rows makes no row when it is N.C.
    int current() const { return size_ ? last_[size_ - 1] : NO_CHORD; }
    ChordContext context() const { return chord_context(last_.data(), size_); }

  private:
    std::array<int, CONTEXT_LENGTH> last_{};
    std::size_t size_ = 0;
};

}  // namespace mltrain
