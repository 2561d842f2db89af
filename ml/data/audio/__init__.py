"""Audio data sets (DEAM, folder + labels.csv) and log-mel features."""

from ml.data.base import DataFormat

AUDIO_FORMATS: tuple[DataFormat, ...] = ()
