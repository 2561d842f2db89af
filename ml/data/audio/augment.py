"""Audio augmentation: a fast path on log-mel windows and a slow path on the waveform.

Fast path (`augment_rows`; seeded; ml.augment calls it from the trainer with the
training split alone, so validation and test rows are never augmented): per copy a global gain of
+/- mel_gain_db dB (adds a constant to every dB band, as a louder or quieter recording would), gaussian noise of
mel_noise_std dB per band, and one frequency mask of up to 8 bands set to the window's minimum (SpecAugment-style).
Targets (emotion) are unchanged; copies are flagged `augmented`.
Slow path (`augment_waveform`, used by the audio loaders when pitch_shift_semitones, time_stretch or
noise_snr_db are set): librosa pitch shift and time stretch and white noise at the given SNR, each copy's
features cached under its own settings; those rows are flagged `augmented` so the split keeps them out of
validation and test.
"""

from __future__ import annotations

import librosa
import numpy as np
import numpy.typing as npt

from ml.config import AugmentationConfig
from ml.data.audio.features import SAMPLE_RATE
from ml.dataset import ArrayDataset

MAX_MASK_BANDS = 8


def augment_rows(dataset: ArrayDataset, config: AugmentationConfig, seed: int) -> ArrayDataset:
    """The rows followed by `config.copies` augmented copies of each (mel fast path)."""
    if config.copies <= 0 or not (config.mel_gain_db or config.mel_noise_std):
        return dataset
    rng = np.random.default_rng([seed, 7])
    inputs, targets = [dataset.inputs], [dataset.targets]
    n, bands = dataset.inputs.shape
    for _ in range(config.copies):
        x = dataset.inputs.copy()
        if config.mel_gain_db:
            x += rng.uniform(-config.mel_gain_db, config.mel_gain_db, size=(n, 1)).astype(np.float32)
        if config.mel_noise_std:
            x += rng.normal(0.0, config.mel_noise_std, size=x.shape).astype(np.float32)
        widths = rng.integers(0, MAX_MASK_BANDS + 1, size=(n, 1))
        starts = rng.integers(0, bands - MAX_MASK_BANDS, size=(n, 1))
        band = np.arange(bands)[None, :]
        masked = (band >= starts) & (band < starts + widths)
        x = np.where(masked, x.min(axis=1, keepdims=True), x).astype(np.float32)
        inputs.append(x)
        targets.append(dataset.targets)
    return _stack(dataset, inputs, targets, config.copies)


def _stack(dataset: ArrayDataset, inputs: list, targets: list, copies: int) -> ArrayDataset:
    reps = copies + 1
    original = np.zeros(len(dataset), dtype=bool) if dataset.augmented is None else dataset.augmented
    return ArrayDataset(
        dataset.model_key,
        np.concatenate(inputs),
        np.concatenate(targets),
        groups=None if dataset.groups is None else np.tile(dataset.groups, reps),
        split=None if dataset.split is None else np.tile(dataset.split, reps),
        augmented=np.concatenate([original, np.ones(len(dataset) * copies, dtype=bool)]),
        source=dataset.source,
        info=dataset.info,
    )


def waveform_settings(config: AugmentationConfig) -> bool:
    """True if any waveform-domain augmentation is configured."""
    return config.copies > 0 and bool(config.pitch_shift_semitones or config.time_stretch or config.noise_snr_db)


def augment_waveform(
    y: npt.NDArray[np.float32], config: AugmentationConfig, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """One augmented copy of a mono 22050 Hz signal."""
    out: npt.NDArray[np.float64] = np.asarray(y, dtype=np.float64)
    if config.pitch_shift_semitones:
        steps = float(rng.uniform(-config.pitch_shift_semitones, config.pitch_shift_semitones))
        out = librosa.effects.pitch_shift(out, sr=SAMPLE_RATE, n_steps=steps)
    if config.time_stretch:
        rate = float(rng.uniform(1 - config.time_stretch, 1 + config.time_stretch))
        out = librosa.effects.time_stretch(out, rate=max(rate, 0.1))
    if config.noise_snr_db:
        power = float(np.mean(out**2)) or 1e-12
        noise_power = power / (10 ** (config.noise_snr_db / 10))
        out = out + rng.normal(0.0, np.sqrt(noise_power), size=out.shape)
    return np.asarray(out, dtype=np.float32)
