"""Chord symbols -> the 64-class vocabulary of harmony_predictor.

Vocabulary (class index = 12 * quality + root pitch class, C=0 ... B=11):
- 0..11 maj, 12..23 min, 24..35 dom7, 36..47 min7, 48..59 dim
- 60..63 augmented triads, by root pitch class mod 4 (an augmented triad is symmetric: C+ = E+ = G#+ is
  class 60, C#+/F+/A+ 61, D+/F#+/A#+ 62, D#+/G+/B+ 63), so all 64 outputs name a real, distinct chord.

Parsing: a root letter A-G with any number of sharps/flats (#, b, ♯, ♭; enharmonics share a class: C# = Db,
E# = F, Cb = B), an optional Harte-style ':' separator, a quality, optional parenthesised alternates/tensions
(ignored) and an optional slash bass (C/E -> C; inversions keep the chord's root; "6/9" is a quality, not a
bass). Qualities map to the nearest class:
- maj: "", maj, M, ma, major, Δ, ^ and their 7/9/11/13 extensions (maj7, M7, Δ7, ^7, maj9 ...), 6, 69, 6/9,
  add9, add2, 2, 5 (power chord), sus, sus2, sus4 without a seventh
- min: m, min, mi, minor, -, m6, mb6, madd9, m(maj7)/mM7/-^7/m/maj7 (minor-major seventh)
- dom7: 7, 9, 11, 13 and altered/suspended dominants (7b9, 7#9, 7#11, 7b13, 7alt, 7sus4, 9sus, +7, 7#5)
- min7: m7, m9, m11, m13, -7, min7 ...
- dim: dim, °, o, dim7, °7, o7, m7b5, ø, ø7, h, h7, -7b5, 0, 07 (a zero for ø, as iReal exports write it)
- aug: aug, +, #5 (triads without a seventh)
"N.C.", "NC", "N", "n", "none" and "no chord" parse to NO_CHORD (-1): it is not a class; harmony
builders reset the chord context there and never use it as a target. Anything else raises ChordError;
the loaders (`parse_progression`) then treat that one symbol as N.C. and count it by spelling in the report.
"""

from __future__ import annotations

import re
from collections import Counter

from ml.errors import DataError

VOCAB_SIZE = 64
NO_CHORD = -1
QUALITIES = ("maj", "min", "dom7", "min7", "dim")
AUG_BASE = 60
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NO_CHORD = {"n.c.", "n.c", "nc", "n", "no chord", "none"}
_ROOT = re.compile(r"^([A-Ga-g])([#b♯♭]*)")
_BASS = re.compile(r"/([A-Ga-g][#b♯♭]*)$")


class ChordError(DataError):
    """A chord symbol could not be parsed."""


def chord_name(index: int) -> str:
    """Human-readable name of a class (inverse of the vocabulary), e.g. 25 -> 'C#7', 60 -> 'C+'."""
    if index == NO_CHORD:
        return "N.C."
    if not 0 <= index < VOCAB_SIZE:
        raise ValueError(f"chord class must be in 0..{VOCAB_SIZE - 1}, got {index}")
    if index >= AUG_BASE:
        return f"{PITCH_NAMES[index - AUG_BASE]}+"
    root, quality = PITCH_NAMES[index % 12], QUALITIES[index // 12]
    return root + {"maj": "", "min": "m", "dom7": "7", "min7": "m7", "dim": "dim"}[quality]


def chord_class(root: int, quality: str) -> int:
    """Class index of a root pitch class (0..11) and quality ('maj', ..., 'dim', 'aug')."""
    if quality == "aug":
        return AUG_BASE + root % 4
    return 12 * QUALITIES.index(quality) + root % 12


def transpose_class(index: int, semitones: int) -> int:
    """The class of a chord moved by `semitones` (N.C. stays N.C.)."""
    if index == NO_CHORD:
        return NO_CHORD
    if index >= AUG_BASE:
        return AUG_BASE + (index - AUG_BASE + semitones) % 4
    return 12 * (index // 12) + (index % 12 + semitones) % 12


def _has_seventh(text: str) -> bool:
    return bool(re.search(r"(7|9|11|13)", text))


def _quality(q: str) -> str:
    """Map the quality part of a symbol (root and bass removed) to a vocabulary quality."""
    q = re.sub(r"\(.*?\)", "", q).strip()  # parenthesised tensions/alternates: C7(b9), C^7(A-7)
    q = q.replace("Δ", "maj").replace("^", "maj").replace("ø", "m7b5").replace("°", "dim")
    q = re.sub(r"^0(?=7|$)", "m7b5", q)  # a zero for ø: "B07" in iReal-derived charts
    q = re.sub(r"^(m|min|-)/(?=maj|M)", r"\1", q)  # "Cm/maj7" is mMaj7, not a slash chord
    low = q.lower()
    if low in ("", "maj", "major", "5", "2", "6", "69", "6/9", "add9", "add2"):
        return "maj"
    if q.startswith("M") or (low.startswith("ma") and not low.startswith("madd")):
        return "maj"  # maj7, M7, ma7, maj9, Maj13 ... (capital M is major; lower-case m is minor)
    if low.startswith(("m7b5", "min7b5", "mi7b5", "-7b5", "h")):
        return "dim"  # half-diminished
    if low.startswith(("dim", "o")):
        return "dim"
    if low.startswith(("aug", "+", "#5")):
        return "dom7" if _has_seventh(low) else "aug"
    if low.startswith("sus"):
        return "dom7" if _has_seventh(low) else "maj"
    minor = re.match(r"^(minor|min|mi|m|-)(.*)$", q)
    if minor:
        rest = minor.group(2).lower()
        if rest.startswith(("maj", "m")):
            return "min"  # minor-major seventh
        if re.match(r"^(7|9|11|13)", rest):
            return "min7"
        if rest in ("", "6", "69", "6/9") or rest.startswith(("6", "add", "b6")):
            return "min"
        raise ChordError(f"unknown minor chord quality {q!r}")
    if re.match(r"^(7|9|11|13)", low) or low.startswith("alt"):
        return "dom7"
    if low.startswith(("6", "2", "5", "add")):
        return "maj"
    raise ChordError(f"unknown chord quality {q!r}")


def parse_chord(symbol: str) -> int:
    """Class index (0..63) of a chord symbol, NO_CHORD for N.C.; raises ChordError on garbage."""
    if not isinstance(symbol, str):
        raise ChordError(f"a chord symbol must be a string, got {type(symbol).__name__}")
    text = symbol.strip()
    if text.lower() in _NO_CHORD:
        return NO_CHORD
    match = _ROOT.match(text)
    if not match:
        raise ChordError(f"cannot parse chord symbol {symbol!r}: it must start with a root A-G")
    root = _LETTERS[match.group(1).upper()]
    for accidental in match.group(2):
        root += 1 if accidental in "#♯" else -1
    rest = text[match.end() :]
    rest = rest.removeprefix(":")
    bass = _BASS.search(rest)  # slash chord / inversion: the bass note is dropped ("6/9" is not a bass)
    if bass:
        rest = rest[: bass.start()]
    try:
        quality = _quality(rest)
    except ChordError:
        raise ChordError(f"cannot parse chord symbol {symbol!r}: unknown quality {rest!r}") from None
    return chord_class(root % 12, quality)


def parse_progression(symbols: list[object], unparsed: Counter[str]) -> list[int]:
    """Classes of a progression's symbols; a symbol the vocabulary cannot place becomes NO_CHORD (a break in
    the history, like N.C.) and is counted by spelling in `unparsed`, so one odd symbol never loses a tune."""
    classes = []
    for symbol in symbols:
        try:
            classes.append(parse_chord(symbol))  # type: ignore[arg-type]
        except ChordError:
            unparsed[str(symbol)] += 1
            classes.append(NO_CHORD)
    return classes


def unparsed_warning(unparsed: Counter[str]) -> str:
    """One report line: the unparsed spellings, most frequent first."""
    listed = ", ".join(f"{spelling!r} x{count}" for spelling, count in unparsed.most_common(20))
    more = f" and {len(unparsed) - 20} more spellings" if len(unparsed) > 20 else ""
    return f"{sum(unparsed.values())} chord symbol(s) not in the vocabulary, treated as N.C.: {listed}{more}"
