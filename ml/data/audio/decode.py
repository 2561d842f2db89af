"""Audio decoding with soundfile (WAV, FLAC, OGG, MP3), mono mixdown and one resampling to 22050 Hz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from ml.data.audio.features import SAMPLE_RATE
from ml.errors import DataError

AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg")


def audio_info(path: Path) -> tuple[float, int]:
    """(duration in seconds, sample rate) from the header, without decoding; DataError if unreadable."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise DataError(f"unreadable audio: {str(exc).splitlines()[0][:120]}") from None
    if info.samplerate <= 0 or info.frames <= 0:
        raise DataError("audio has no samples")
    return info.frames / info.samplerate, info.samplerate


def load_audio(path: Path, *, offset: float = 0.0, duration: float | None = None) -> npt.NDArray[np.float32]:
    """Mono float32 at 22050 Hz of [offset, offset + duration) seconds; DataError if it cannot be decoded."""
    try:
        with sf.SoundFile(str(path)) as handle:
            sr = handle.samplerate
            start = min(int(offset * sr), handle.frames)
            handle.seek(start)
            frames = -1 if duration is None else int(duration * sr)
            data = handle.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise DataError(f"cannot decode audio: {str(exc).splitlines()[0][:120]}") from None
    if data.size == 0:
        raise DataError("no audio in the requested range")
    mono = data.mean(axis=1)
    if not np.isfinite(mono).all():
        raise DataError("audio contains non-finite samples")
    if sr != SAMPLE_RATE:
        mono = soxr.resample(mono, sr, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
