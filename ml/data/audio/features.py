"""Log-mel features, identical to librosa's, and the per-window vectors emotion_recognizer takes.

Settings (FEATURE_SETTINGS, part of every cache key): mono, 22050 Hz, STFT n_fft 2048 / hop 512 / Hann /
centered with zero padding, power 2, 128 Slaney mel bands 0..11025 Hz, dB = 10 * log10(max(mel, 1e-10)) with
no top_db clipping (clipping relative to a clip's loudest frame is something the plugin could not reproduce in
real time). One model input = the mean over frames of a 3 s window of dB log-mel, windows every 1.5 s: a running
mean the plugin can keep.
"""

from __future__ import annotations

from functools import cache

import librosa
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 22050
N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128
AMIN = 1e-10
WINDOW_SECONDS = 3.0
WINDOW_HOP_SECONDS = 1.5
MIN_SECONDS = 1.0
FEATURE_VERSION = 1
FEATURE_SETTINGS = {
    "version": FEATURE_VERSION,
    "sr": SAMPLE_RATE,
    "n_fft": N_FFT,
    "hop": HOP_LENGTH,
    "n_mels": N_MELS,
    "window_s": WINDOW_SECONDS,
    "window_hop_s": WINDOW_HOP_SECONDS,
}

FloatArray = npt.NDArray[np.float32]


@cache
def mel_basis(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> npt.NDArray[np.float32]:
    """The Slaney mel filter bank, built once per settings."""
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


def log_mel(y: npt.NDArray[np.float32], sr: int = SAMPLE_RATE) -> FloatArray:
    """[128, frames] dB log-mel of a mono signal at `sr` (equal to librosa.power_to_db(melspectrogram))."""
    spectrum = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH, center=True, pad_mode="constant")) ** 2
    mel = mel_basis(sr) @ spectrum
    return (10.0 * np.log10(np.maximum(mel, AMIN))).astype(np.float32)


def window_vectors(mel_db: FloatArray) -> FloatArray:
    """[windows, 128]: mean over frames of each 3 s window (hop 1.5 s); a short clip gives one window."""
    frames = mel_db.shape[1]
    size = round(WINDOW_SECONDS * SAMPLE_RATE / HOP_LENGTH)
    step = round(WINDOW_HOP_SECONDS * SAMPLE_RATE / HOP_LENGTH)
    if frames <= size:
        return mel_db.mean(axis=1, keepdims=True).T.astype(np.float32)
    starts = range(0, frames - size + 1, step)
    return np.stack([mel_db[:, s : s + size].mean(axis=1) for s in starts]).astype(np.float32)


def clip_features(y: npt.NDArray[np.float32]) -> FloatArray:
    """Model inputs [windows, 128] of a mono 22050 Hz signal."""
    return window_vectors(log_mel(y))
