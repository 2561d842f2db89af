"""Audio data sets feeding emotion_recognizer (DEAM, a folder + labels.csv) and their log-mel features."""

from ml.data.audio.audio_labels import AUDIO_LABELS_FORMAT
from ml.data.audio.deam import DEAM_FORMAT
from ml.data.base import DataFormat

AUDIO_FORMATS: tuple[DataFormat, ...] = (DEAM_FORMAT, AUDIO_LABELS_FORMAT)
