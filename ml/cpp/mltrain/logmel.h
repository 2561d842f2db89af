// mltrain/logmel.h: emotion_recognizer's input, the mean dB log-mel spectrum of a 3 s window.
//
// Mirrors ml/data/audio/features.py (`log_mel`, `window_vectors`, `clip_features`): mono audio at 22050 Hz,
// STFT n_fft 2048 / hop 512 / periodic Hann window, centred (frame t covers samples t * 512 - 1024 ...
// t * 512 + 1023, zeros outside the signal), power spectrum, the float32 Slaney mel bank of mel_filterbank.h,
// dB = 10 * log10(max(mel, AMIN)) with no top-dB clipping, then the mean over 129 frames. Python computes
// the FFT in double and rounds the spectrum, the mel sums and the dB values to float32; this header stays in
// double throughout and rounds only the model input, so it agrees to about 1e-6 relative.
//
// Mixing to mono (the mean of the channels) and resampling to 22050 Hz happen before this header: training
// used soxr's HQ resampler (ml/data/audio/decode.py), which a plugin's own resampler approximates, not repeats.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <vector>

#include "mel_filterbank.h"

namespace mltrain {

constexpr int SAMPLE_RATE = 22050;             // features.SAMPLE_RATE
constexpr int N_FFT = 2048;                    // features.N_FFT
constexpr int HOP_LENGTH = 512;                // features.HOP_LENGTH
constexpr int N_MELS = 128;                    // features.N_MELS
constexpr double AMIN = 1e-10;                 // features.AMIN: the power floor (-100 dB)
constexpr double WINDOW_SECONDS = 3.0;         // features.WINDOW_SECONDS
constexpr double WINDOW_HOP_SECONDS = 1.5;     // features.WINDOW_HOP_SECONDS
constexpr int N_BINS = N_FFT / 2 + 1;
// window_vectors: size = round(3.0 * 22050 / 512) = 129 frames, step = round(1.5 * 22050 / 512) = 65 frames.
constexpr int WINDOW_FRAMES = 129;
constexpr int WINDOW_HOP_FRAMES = 65;
static_assert(MEL_BANDS == N_MELS && MEL_BINS == N_BINS, "mel_filterbank.h was generated for other settings");

using MelFrame = std::array<double, N_MELS>;      // one frame of dB log-mel, in double
using MelInput = std::array<float, N_MELS>;       // emotion_recognizer's input

// An in-place iterative radix-2 FFT of size N_FFT in double, twiddles and bit reversal precomputed.
class Fft {
  public:
    Fft() {
        const double pi = 3.141592653589793;
        for (std::size_t k = 0; k < N_FFT / 2; ++k) {
            const double angle = -2.0 * pi * static_cast<double>(k) / N_FFT;
            twiddle_[k] = {std::cos(angle), std::sin(angle)};
        }
        for (std::size_t i = 0, j = 0; i < N_FFT; ++i) {
            reversed_[i] = j;
            std::size_t bit = N_FFT >> 1;
            for (; j & bit; bit >>= 1) j ^= bit;
            j |= bit;
        }
    }

    void transform(std::array<std::complex<double>, N_FFT>& x) const {
        for (std::size_t i = 0; i < N_FFT; ++i) {
            if (i < reversed_[i]) std::swap(x[i], x[reversed_[i]]);
        }
        for (std::size_t size = 2; size <= N_FFT; size <<= 1) {
            const std::size_t half = size / 2, stride = N_FFT / size;
            for (std::size_t start = 0; start < N_FFT; start += size) {
                for (std::size_t k = 0; k < half; ++k) {
                    const std::complex<double> t = twiddle_[k * stride] * x[start + k + half];
                    x[start + k + half] = x[start + k] - t;
                    x[start + k] += t;
                }
            }
        }
    }

  private:
    std::array<std::complex<double>, N_FFT / 2> twiddle_{};
    std::array<std::size_t, N_FFT> reversed_{};
};

// One STFT frame -> dB log-mel. Holds the window, FFT tables and buffers (about 80 kB): make one, keep it.
class LogMelFrame {
  public:
    LogMelFrame() {
        // librosa's get_window("hann", 2048, fftbins=True), as scipy computes it: 0.5 + 0.5 cos(-pi + n * 2 pi / N).
        const double pi = 3.141592653589793;
        for (std::size_t n = 0; n < N_FFT; ++n) {
            window_[n] = 0.5 + 0.5 * std::cos(static_cast<double>(n) * (2.0 * pi / N_FFT) + -pi);
        }
    }

    // `frame` is the N_FFT samples the frame covers (zeros where the centred frame reaches past the signal).
    MelFrame operator()(const float* frame) {
        for (std::size_t n = 0; n < N_FFT; ++n) buffer_[n] = {window_[n] * static_cast<double>(frame[n]), 0.0};
        fft_.transform(buffer_);
        std::array<double, N_BINS> power{};
        for (std::size_t k = 0; k < N_BINS; ++k) power[k] = std::norm(buffer_[k]);  // |X|^2
        MelFrame db{};
        for (std::size_t b = 0; b < N_MELS; ++b) {
            double mel = 0.0;
            for (int k = 0; k < MEL_LENGTH[b]; ++k) {
                mel += static_cast<double>(MEL_WEIGHTS[MEL_OFFSET[b] + k]) * power[static_cast<std::size_t>(MEL_START[b] + k)];
            }
            db[b] = 10.0 * std::log10(std::max(mel, AMIN));
        }
        return db;
    }

  private:
    Fft fft_;
    std::array<double, N_FFT> window_{};
    std::array<std::complex<double>, N_FFT> buffer_{};
};

// features.log_mel of a whole mono 22050 Hz signal: 1 + n / HOP_LENGTH frames (offline; allocates).
inline std::vector<MelFrame> log_mel(const float* y, std::size_t n) {
    LogMelFrame frame_of;
    const std::size_t frames = 1 + n / HOP_LENGTH;
    std::vector<MelFrame> out;
    out.reserve(frames);
    std::vector<float> frame(N_FFT);
    for (std::size_t t = 0; t < frames; ++t) {
        for (std::size_t k = 0; k < N_FFT; ++k) {
            const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(t * HOP_LENGTH + k) - N_FFT / 2;
            frame[k] = at >= 0 && static_cast<std::size_t>(at) < n ? y[at] : 0.0f;
        }
        out.push_back(frame_of(frame.data()));
    }
    return out;
}

// The mean of frames [first, first + count) as a model input.
inline MelInput mean_frame(const MelFrame* frames, std::size_t count) {
    MelInput out{};
    for (std::size_t b = 0; b < N_MELS; ++b) {
        double sum = 0.0;
        for (std::size_t t = 0; t < count; ++t) sum += frames[t][b];
        out[b] = static_cast<float>(sum / static_cast<double>(count));
    }
    return out;
}

// features.window_vectors: one input per 129-frame window, windows every 65 frames; a clip of at most 129
// frames gives one input over all of them.
inline std::vector<MelInput> window_vectors(const std::vector<MelFrame>& frames) {
    std::vector<MelInput> out;
    if (frames.size() <= WINDOW_FRAMES) {
        out.push_back(mean_frame(frames.data(), frames.size()));
        return out;
    }
    for (std::size_t s = 0; s + WINDOW_FRAMES <= frames.size(); s += WINDOW_HOP_FRAMES) {
        out.push_back(mean_frame(frames.data() + s, WINDOW_FRAMES));
    }
    return out;
}

// The plugin's real-time front end: push 22050 Hz mono samples as they come; every HOP_LENGTH samples a frame
// completes and input() is the mean of the last WINDOW_FRAMES frames (of all frames so far before that: a
// stream's first seconds behave like a short clip). Frame t is complete once sample t * 512 + 1023 has arrived
// (the centred STFT's latency of N_FFT / 2 samples); the stream starts with the centred STFT's N_FFT / 2 zeros,
// so its frames equal log_mel's. No allocation after construction.
class LogMelStream {
  public:
    LogMelStream() { reset(); }

    void reset() {
        std::fill(samples_.begin(), samples_.end(), 0.0f);
        filled_ = N_FFT / 2;  // the left zero padding of a centred STFT
        frames_seen_ = 0;
        next_ = 0;
    }

    // Adds samples; returns how many new frames completed (readable through last_frame / input).
    std::size_t push(const float* y, std::size_t n) {
        std::size_t completed = 0;
        for (std::size_t k = 0; k < n; ++k) {
            samples_[filled_++] = y[k];
            if (filled_ == N_FFT) {
                ring_[next_] = frame_of_(samples_.data());
                next_ = (next_ + 1) % WINDOW_FRAMES;
                ++frames_seen_;
                ++completed;
                std::copy(samples_.begin() + HOP_LENGTH, samples_.end(), samples_.begin());
                filled_ = N_FFT - HOP_LENGTH;
            }
        }
        return completed;
    }

    // The end of a clip: the right zero padding of a centred STFT, which completes log_mel's last frames.
    std::size_t flush() {
        const std::array<float, N_FFT / 2> zeros{};
        return push(zeros.data(), zeros.size());
    }

    std::size_t frames_seen() const { return frames_seen_; }
    const MelFrame& last_frame() const { return ring_[(next_ + WINDOW_FRAMES - 1) % WINDOW_FRAMES]; }

    // The mean over the last min(frames_seen, 129) frames, summed oldest first (as a window's mean).
    MelInput input() const {
        const std::size_t count = std::min<std::size_t>(frames_seen_, WINDOW_FRAMES);
        const std::size_t oldest = (next_ + WINDOW_FRAMES - count) % WINDOW_FRAMES;
        MelInput out{};
        for (std::size_t b = 0; b < N_MELS; ++b) {
            double sum = 0.0;
            for (std::size_t t = 0; t < count; ++t) sum += ring_[(oldest + t) % WINDOW_FRAMES][b];
            out[b] = count ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
        }
        return out;
    }

  private:
    LogMelFrame frame_of_;
    std::array<float, N_FFT> samples_{};
    std::size_t filled_ = 0;
    std::array<MelFrame, WINDOW_FRAMES> ring_{};
    std::size_t frames_seen_ = 0;
    std::size_t next_ = 0;
};

}  // namespace mltrain
