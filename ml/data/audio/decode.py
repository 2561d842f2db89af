"""Audio decoding: soundfile first, audioread only for containers libsndfile cannot read; mono; one resampling.

soundfile (libsndfile >= 1.1) reads WAV, FLAC, OGG/Vorbis/Opus, AIFF and MP3, which covers DEAM and the usual
user folders. Files in containers libsndfile does not know (M4A/AAC, WMA) go through audioread, which needs an
ffmpeg or GStreamer install; without one such a file is skipped with a reason saying so. Multichannel audio is
mixed down by averaging the channels, then resampled once to 22050 Hz with soxr (HQ), the resampler librosa uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from ml.data.audio.features import SAMPLE_RATE
from ml.errors import DataError

SOUNDFILE_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".opus", ".aif", ".aiff")
AUDIOREAD_SUFFIXES = (".m4a", ".aac", ".wma")
AUDIO_SUFFIXES = SOUNDFILE_SUFFIXES + AUDIOREAD_SUFFIXES

FloatArray = npt.NDArray[np.float32]


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


def _uses_audioread(path: Path) -> bool:
    return Path(path).suffix.lower() in AUDIOREAD_SUFFIXES


def audio_info(path: Path) -> tuple[float, int]:
    """(duration in seconds, sample rate) from the header, without decoding; DataError if unreadable."""
    if _uses_audioread(path):
        return _audioread_info(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise DataError(f"unreadable audio: {_first_line(exc)}") from None
    if info.samplerate <= 0 or info.frames <= 0:
        raise DataError("audio has no samples")
    return info.frames / info.samplerate, info.samplerate


def load_audio(path: Path, *, offset: float = 0.0, duration: float | None = None) -> FloatArray:
    """Mono float32 at 22050 Hz of [offset, offset + duration) seconds; DataError if it cannot be decoded."""
    if _uses_audioread(path):
        mono, sr = _audioread_decode(path, offset, duration)
    else:
        try:
            with sf.SoundFile(str(path)) as handle:
                sr = handle.samplerate
                start = min(int(offset * sr), handle.frames)
                handle.seek(start)
                frames = -1 if duration is None else int(duration * sr)
                data = handle.read(frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise DataError(f"cannot decode audio: {_first_line(exc)}") from None
        mono = data.mean(axis=1)
    if mono.size == 0:
        raise DataError("no audio in the requested range")
    if not np.isfinite(mono).all():
        raise DataError("audio contains non-finite samples")
    if sr != SAMPLE_RATE:
        mono = soxr.resample(mono, sr, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _audioread_open(path: Path) -> Any:
    try:
        import audioread
    except ImportError:  # pragma: no cover - librosa depends on it
        raise DataError(f"{Path(path).suffix} files need audioread with ffmpeg installed") from None
    try:
        return audioread.audio_open(str(path))
    except audioread.NoBackendError:
        raise DataError(f"cannot decode {Path(path).suffix} here: install ffmpeg (used through audioread)") from None
    except (audioread.DecodeError, OSError, EOFError) as exc:
        raise DataError(f"unreadable audio: {_first_line(exc)}") from None


def _audioread_info(path: Path) -> tuple[float, int]:
    with _audioread_open(path) as handle:
        if handle.samplerate <= 0 or not handle.duration:
            raise DataError("audio has no samples")
        return float(handle.duration), int(handle.samplerate)


def _audioread_decode(path: Path, offset: float, duration: float | None) -> tuple[FloatArray, int]:
    """Mono float32 at the file's own rate from audioread's 16-bit interleaved blocks."""
    with _audioread_open(path) as handle:
        sr, channels = int(handle.samplerate), max(int(handle.channels), 1)
        start = int(offset * sr) * channels
        stop = None if duration is None else start + int(duration * sr) * channels
        blocks, seen = [], 0
        try:
            for buffer in handle:
                block = np.frombuffer(buffer, dtype="<i2")
                lo, hi = max(start - seen, 0), len(block) if stop is None else min(stop - seen, len(block))
                if hi > lo:
                    blocks.append(block[lo:hi])
                seen += len(block)
                if stop is not None and seen >= stop:
                    break
        except (OSError, EOFError, ValueError) as exc:
            raise DataError(f"cannot decode audio: {_first_line(exc)}") from None
    samples = np.concatenate(blocks) if blocks else np.empty(0, dtype="<i2")
    samples = samples[: len(samples) // channels * channels].reshape(-1, channels)
    return (samples.astype(np.float32) / 32768.0).mean(axis=1), sr
