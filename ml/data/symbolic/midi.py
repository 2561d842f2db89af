"""Quiet MIDI loading and note extraction: one function turns a file into plain arrays (the cached form).

pretty_midi warns on every real-world quirk ("Tempo, Key or Time signature change events found on non-zero
tracks", odd meta events...) and mido raises a zoo of exception types on corrupt bytes. `parse_midi_file`
silences the warnings, catches every failure, and returns either the note arrays or an `error` entry, so a
corrupt file is recorded as skipped (and cached as such) and never stops a run or floods the log.

Arrays returned (all float64 unless noted):
- `notes`  [N, 4]: start s, end s, pitch, velocity of every non-drum note, sorted by (start, pitch)
- `drums`  [M, 4]: the same for drum-channel notes (is_drum instruments)
- `beats`  [B]: beat times from the tempo map (pretty_midi.get_beats); `downbeats` [D]: bar starts
- `tempo`  [1]: the first tempo in BPM (120 when the file has none); `end` [1]: end time of the last event
- `key_signatures` [K, 2]: time s, pretty_midi key_number (0-11 major, 12-23 minor) of each key-signature event
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ml.errors import DataError

MIDI_SUFFIXES = (".mid", ".midi")
NOTES_VERSION = 1  # bump when the extraction below changes; it is part of every cache key
FloatArray = npt.NDArray[np.float64]


class MidiError(DataError):
    """A MIDI file could not be read or holds nothing usable; the message is the short skip reason."""


def is_midi(path: Path) -> bool:
    """True for .mid / .midi files (any case)."""
    return path.suffix.lower() in MIDI_SUFFIXES


def _note_array(notes: list[tuple[float, float, int, int]]) -> FloatArray:
    if not notes:
        return np.zeros((0, 4), dtype=np.float64)
    array = np.asarray(notes, dtype=np.float64)
    order = np.lexsort((array[:, 2], array[:, 0]))
    return array[order]


def parse_midi_file(path: Path) -> dict[str, np.ndarray]:
    """Read one MIDI file into note arrays, or `{"error": reason}` if it is unreadable (never raises)."""
    try:
        import pretty_midi

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = pretty_midi.PrettyMIDI(str(path))
            melodic: list[tuple[float, float, int, int]] = []
            drums: list[tuple[float, float, int, int]] = []
            for instrument in pm.instruments:
                bucket = drums if instrument.is_drum else melodic
                bucket.extend((n.start, n.end, n.pitch, n.velocity) for n in instrument.notes if n.end > n.start)
            end = float(pm.get_end_time())
            beats = np.asarray(pm.get_beats(), dtype=np.float64)
            downbeats = np.asarray(pm.get_downbeats(), dtype=np.float64)
            _times, tempi = pm.get_tempo_changes()
            keys = sorted((k.time, k.key_number) for k in pm.key_signature_changes)
        tempo = float(tempi[0]) if len(tempi) and np.isfinite(tempi[0]) and tempi[0] > 0 else 120.0
    except Exception as exc:  # mido/pretty_midi raise many types on corrupt bytes; all mean "unreadable"
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else "file ends early or is malformed"
        message = f"{type(exc).__name__}: {detail}"
        return {"error": np.array(f"unreadable MIDI ({message})")}
    return {
        "notes": _note_array(melodic),
        "drums": _note_array(drums),
        "beats": beats,
        "downbeats": downbeats,
        "tempo": np.array([tempo]),
        "end": np.array([end]),
        "key_signatures": np.asarray(keys, dtype=np.float64).reshape(-1, 2),
    }


def check_parsed(parsed: dict[str, np.ndarray], *, drums: bool = False, min_seconds: float = 1.0) -> None:
    """Raise MidiError with the skip reason if a parsed file is unreadable, empty or too short."""
    if "error" in parsed:
        raise MidiError(str(parsed["error"]))
    notes = parsed["drums"] if drums else parsed["notes"]
    if len(notes) == 0:
        raise MidiError("no drum notes" if drums else "no notes")
    span = float(notes[:, 1].max() - notes[:, 0].min())
    if span < min_seconds:
        raise MidiError(f"too short ({span:.2f} s < {min_seconds:g} s)")


def duration_of(parsed: dict[str, np.ndarray]) -> float:
    """End time of a parsed file in seconds (0 if unreadable)."""
    return float(parsed["end"][0]) if "end" in parsed else 0.0
