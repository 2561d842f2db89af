"""Audio data sets (DEAM, folder + labels.csv) and log-mel features."""

from ml.data.audio.formats import AUDIO_FORMATS_LIST
from ml.data.base import DataFormat

AUDIO_FORMATS: tuple[DataFormat, ...] = AUDIO_FORMATS_LIST
