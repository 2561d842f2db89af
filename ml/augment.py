"""Row-level augmentation of a training split, dispatched by model (training rows only, seeded)."""

from __future__ import annotations

from ml.config import AugmentationConfig
from ml.dataset import ArrayDataset


def augment_training_rows(dataset: ArrayDataset, config: AugmentationConfig, seed: int) -> ArrayDataset:
    """The training rows plus their augmented copies; the caller passes only the training split."""
    if config.copies <= 0:
        return dataset
    if dataset.model_key == "emotion_recognizer":
        from ml.data.audio.augment import augment_rows as audio_rows

        return audio_rows(dataset, config, seed)
    from ml.data.symbolic.augment import augment_rows as midi_rows

    return midi_rows(dataset, config, seed)
