"""Symbolic data sets: MIDI (EMOPIA, VGMIDI, MAESTRO, Groove MIDI, E-GMD, Lakh, folders) and chord corpora.

Detection order matters: the most specific layouts first, `midi-folder` (any folder with MIDI files) last.
"""

from ml.data.base import DataFormat
from ml.data.symbolic import (
    chords_json,
    egmd,
    emopia,
    groove_midi,
    jazz_standards,
    lakh,
    maestro,
    midi_folder,
    midi_labels,
    vgmidi,
)

SYMBOLIC_FORMATS: tuple[DataFormat, ...] = (
    emopia.FORMAT,
    vgmidi.FORMAT,
    maestro.FORMAT,
    groove_midi.FORMAT,
    egmd.FORMAT,
    lakh.FORMAT,
    jazz_standards.FORMAT,
    chords_json.FORMAT,
    midi_labels.FORMAT,
    midi_folder.FORMAT,
)
