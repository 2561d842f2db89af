// mltrain/emotion.h: the shared emotion embedding, (valence, arousal) <-> 64 values.
//
// Mirrors ml/emotion.py (`encode`, `decode`). Every network that takes or gives emotion uses this map, so the
// plugin can chain emotion_recognizer's output into harmony_predictor, groove_predictor and the melody inputs.
// e[8 * i + j] = 2 * exp(-((v - c_j)^2 + (a - c_i)^2) / (2 * SIGMA^2)) - 1, c_k = -1 + 2k/7, SIGMA = 2/7
// (i = arousal row, j = valence column); valence and arousal are clipped to [-1, 1].
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

namespace mltrain {

constexpr int EMBEDDING_SIZE = 64;  // ml.emotion.EMBEDDING_SIZE
constexpr int GRID = 8;             // ml.emotion.GRID
constexpr double SIGMA = 2.0 / (GRID - 1);

using Embedding = std::array<float, EMBEDDING_SIZE>;

// ml.emotion.CENTRES = np.linspace(-1, 1, GRID): k * step + start, the last one set to exactly 1.
inline double emotion_centre(int k) { return k == GRID - 1 ? 1.0 : k * (2.0 / (GRID - 1)) + -1.0; }

// ml.emotion.encode for one (valence, arousal): computed in double, rounded to float32 like the Python.
inline Embedding emotion_encode(double valence, double arousal) {
    const double v = std::clamp(valence, -1.0, 1.0);
    const double a = std::clamp(arousal, -1.0, 1.0);
    Embedding out{};
    for (int i = 0; i < GRID; ++i) {
        const double da = (a - emotion_centre(i)) * (a - emotion_centre(i));
        for (int j = 0; j < GRID; ++j) {
            const double dv = (v - emotion_centre(j)) * (v - emotion_centre(j));
            const double rbf = std::exp(-(dv + da) / (2.0 * (SIGMA * SIGMA)));
            out[static_cast<std::size_t>(GRID * i + j)] = static_cast<float>(2.0 * rbf - 1.0);
        }
    }
    return out;
}

struct ValenceArousal {
    float valence;
    float arousal;
};

// ml.emotion.decode: the (v, a) on the 0.01 grid (201 x 201 points in [-1, 1]^2) whose float32 embedding is
// nearest in least squares. The table (10 MB) is built once by the constructor: build the decoder off the
// audio thread and keep it. One decode is 201 * 201 * 64 multiply-adds (about a millisecond): call it at
// control rate, not per sample.
class EmotionDecoder {
  public:
    static constexpr int STEPS = 201;

    EmotionDecoder() : table_(static_cast<std::size_t>(STEPS) * STEPS * EMBEDDING_SIZE), norms_(STEPS * STEPS) {
        for (int r = 0; r < STEPS; ++r) {      // arousal = step r (meshgrid "xy": rows are arousal)
            for (int c = 0; c < STEPS; ++c) {  // valence = step c
                const std::size_t index = static_cast<std::size_t>(r) * STEPS + static_cast<std::size_t>(c);
                const Embedding e = emotion_encode(step(c), step(r));
                double norm = 0.0;
                for (int k = 0; k < EMBEDDING_SIZE; ++k) {
                    table_[index * EMBEDDING_SIZE + static_cast<std::size_t>(k)] = e[static_cast<std::size_t>(k)];
                    norm += static_cast<double>(e[static_cast<std::size_t>(k)]) * e[static_cast<std::size_t>(k)];
                }
                norms_[index] = norm;
            }
        }
    }

    // _DECODE_STEPS = np.round(np.linspace(-1, 1, 201), 6): k * 0.01 - 1 rounded to 6 decimals (rint(x * 1e6) / 1e6).
    static double step(int k) {
        const double raw = k == STEPS - 1 ? 1.0 : k * (2.0 / (STEPS - 1)) + -1.0;
        return std::nearbyint(raw * 1e6) / 1e6;
    }

    // Index r * 201 + c of the nearest grid point (first one on an exact tie, like argmin).
    template <typename T>
    std::size_t nearest_index(const T* embedding) const {
        std::size_t best = 0;
        double best_distance = 0.0;
        for (std::size_t index = 0; index < norms_.size(); ++index) {
            const float* row = &table_[index * EMBEDDING_SIZE];
            double dot = 0.0;
            for (std::size_t k = 0; k < EMBEDDING_SIZE; ++k) dot += static_cast<double>(embedding[k]) * row[k];
            // ||e - t||^2 = ||e||^2 - 2 e.t + ||t||^2; the first term is the same for every t.
            const double distance = norms_[index] - 2.0 * dot;
            if (index == 0 || distance < best_distance) {
                best = index;
                best_distance = distance;
            }
        }
        return best;
    }

    template <typename T>
    ValenceArousal decode(const T* embedding) const {
        const std::size_t index = nearest_index(embedding);
        return {static_cast<float>(step(static_cast<int>(index % STEPS))),
                static_cast<float>(step(static_cast<int>(index / STEPS)))};
    }

  private:
    std::vector<float> table_;   // [201 * 201, 64] float32 embeddings, as _DECODE_TABLE
    std::vector<double> norms_;  // squared norms of the float32 rows, in double (_DECODE_NORMS)
};

}  // namespace mltrain
