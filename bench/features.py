"""Audio feature extraction speed and the feature cache.

1. ms per audio second and x real time: mltrain's log-mel (mel basis built once) vs plain
   `librosa.power_to_db(librosa.feature.melspectrogram(...))` on the same signals, one thread.
   A torch.stft variant is timed too (not used: it is not bit-equal to librosa; its max difference is printed).
2. A whole DEAM-layout data set prepared twice: first pass (decode + resample + features) vs the cached second
   (best of 3), and how much of the cached pass is the header-only scan (sf.info per file).
Run: .venv/bin/python -m bench.features [--songs 24 --seconds 45]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch

from ml.data import LoadOptions, load_dataset, validate_dataset
from ml.data.audio.features import HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE, log_mel, mel_basis


def _signal(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 110 * (k + 1) * t) * 0.5**k for k in range(6))
    return (0.1 * tone + 0.01 * rng.normal(size=t.size)).astype(np.float32)


def extraction(seconds: float, repeats: int) -> dict[str, float]:
    """Best-of-N time of both implementations on one signal."""
    y = _signal(seconds, 0)
    log_mel(y)
    librosa.feature.melspectrogram(y=y[:SAMPLE_RATE], sr=SAMPLE_RATE)

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    window = torch.hann_window(N_FFT, periodic=True)
    basis = torch.from_numpy(mel_basis())

    def torch_log_mel() -> np.ndarray:
        x = torch.from_numpy(y)
        spec = torch.stft(x, N_FFT, HOP_LENGTH, window=window, pad_mode="constant", return_complex=True)
        power = spec.real**2 + spec.imag**2
        return (10.0 * torch.log10(torch.clamp(basis @ power, min=1e-10))).numpy()

    ours = best(lambda: log_mel(y))
    torch_time = best(torch_log_mel)
    torch_error = float(np.abs(torch_log_mel() - log_mel(y)).max())
    plain = best(
        lambda: librosa.power_to_db(
            librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS),
            top_db=None,
        )
    )
    return {
        "mltrain_ms_per_audio_s": 1000 * ours / seconds,
        "librosa_ms_per_audio_s": 1000 * plain / seconds,
        "mltrain_x_realtime": seconds / ours,
        "librosa_x_realtime": seconds / plain,
        "torch_stft_ms_per_audio_s": 1000 * torch_time / seconds,
        "torch_stft_max_abs_diff_db": torch_error,
    }


def dataset_passes(songs: int, seconds: float) -> dict[str, float]:
    """Cold and cached preparation of a DEAM-layout folder of MP3s (written here)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "DEAM"
        (root / "MEMD_audio").mkdir(parents=True)
        rows = ["song_id, valence_mean, valence_std, arousal_mean, arousal_std"]
        for song in range(1, songs + 1):
            sr = 44100 if song % 2 else 22050
            y = (
                librosa.resample(_signal(seconds, song), orig_sr=SAMPLE_RATE, target_sr=sr)
                if sr != SAMPLE_RATE
                else _signal(seconds, song)
            )
            sf.write(root / "MEMD_audio" / f"{song}.mp3", y, sr)
            rows.append(f"{song}, {1 + song % 8}, 1, {9 - song % 8}, 1")
        (root / "static_annotations_averaged_songs_1_2000.csv").write_text("\n".join(rows) + "\n")
        options = LoadOptions(cache_dir=Path(tmp) / "cache")
        start = time.perf_counter()
        first = load_dataset(root, "emotion_recognizer", "deam", options)
        cold = time.perf_counter() - start
        warm_times = []
        for _ in range(3):
            start = time.perf_counter()
            second = load_dataset(root, "emotion_recognizer", "deam", options)
            warm_times.append(time.perf_counter() - start)
        assert second.info["cache"]["misses"] == 0 and np.array_equal(first.inputs, second.inputs)
        start = time.perf_counter()
        validate_dataset(root, "deam")
        scan = time.perf_counter() - start
        warm = min(warm_times)
    return {
        "songs": songs,
        "audio_s_used": songs * min(seconds - 15.0, 45.0),
        "windows": len(first),
        "first_pass_s": cold,
        "cached_pass_s": warm,
        "of_which_header_scan_s": scan,
        "speedup": cold / warm,
    }


def main() -> None:
    """Print the two measurements as JSON lines."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--songs", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"extraction_30s_clip": extraction(30.0, args.repeats)}))
    print(json.dumps({"deam_preparation": dataset_passes(args.songs, args.seconds)}))


if __name__ == "__main__":
    main()
