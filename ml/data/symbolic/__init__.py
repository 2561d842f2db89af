"""Symbolic data sets: MIDI (EMOPIA, VGMIDI, MAESTRO, Groove MIDI, E-GMD, Lakh, folders) and chord corpora."""

from ml.data.base import DataFormat

SYMBOLIC_FORMATS: tuple[DataFormat, ...] = ()
