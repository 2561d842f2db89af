"""Chord-symbol parser and the 64-class vocabulary."""

import numpy as np
import pytest

from ml.data.symbolic.chords import NO_CHORD, VOCAB_SIZE, ChordError, chord_name, parse_chord, transpose_class
from ml.data.symbolic.harmony import chord_context, harmony_rows

TABLE = [
    ("C", 0), ("Am", 21), ("C#", 1), ("Db", 1), ("E#", 5), ("Cb", 11), ("F##", 7), ("B♭", 10), ("G♯m", 20),
    ("Cmaj7", 0), ("CM7", 0), ("CΔ7", 0), ("C^7", 0), ("Cma7", 0), ("C6", 0), ("C69", 0), ("C6/9", 0),
    ("Cadd9", 0), ("Csus2", 0), ("Csus4", 0), ("C5", 0), ("Fmaj9#11", 5),
    ("Cm", 12), ("Cmin", 12), ("C-", 12), ("Cm6", 12), ("CmM7", 12), ("C-^7", 12), ("Cm(maj7)", 12),
    ("Cmadd9", 12),
    ("C7", 24), ("C9", 24), ("C13", 24), ("C7b9", 24), ("C7alt", 24), ("C7sus4", 24), ("C+7", 24),
    ("D7b13", 26), ("Eb9sus", 27), ("Bb7b9#5", 34),
    ("Cm7", 36), ("C-7", 36), ("Cmi7", 36), ("Cm9", 36), ("Am7/G", 45),
    ("Cdim", 48), ("C°", 48), ("Co7", 48), ("Cdim7", 48), ("Cm7b5", 48), ("Cø", 48), ("Ch7", 48),
    ("Caug", 60), ("C+", 60), ("E+", 60), ("G#+", 60), ("Ab+", 60), ("F+", 61), ("D+", 62), ("B+", 63),
    ("C/E", 0), ("Bb^7/D", 10), ("G:maj", 7), ("C^7(A-7)", 0),
    ("N.C.", NO_CHORD), ("NC", NO_CHORD), ("n", NO_CHORD),
    # every spelling of the folding table in docs/data.md, one row per spelling
    ("CM", 0), ("Cmaj", 0), ("Cma", 0), ("Cmajor", 0), ("CM9", 0), ("Cmaj13", 0), ("Csus", 0), ("C2", 0),
    ("Cadd2", 0), ("Cminor", 12), ("Cmi", 12), ("C-6", 12), ("C-Δ7", 12), ("Cmb6", 12), ("Cm/maj7", 12),
    ("C11", 24), ("C7#9", 24), ("C7#11", 24), ("C7b5", 24), ("C7#5", 24), ("Caug7", 24), ("C9sus4", 24),
    ("C7sus", 24), ("C13b9", 24), ("C7b9b13", 24), ("C7#9#5", 24), ("Gb13#11", 30),
    ("Cm11", 36), ("Cm13", 36), ("Cø7", 48), ("C-7b5", 48), ("Co", 48), ("C0", 48), ("C07", 48), ("Ch", 48),
    ("Ebm7b5", 51), ("F#ø7", 54),
    # slash chords with any bass spelling keep the chord: the bass is not a class
    ("C/Bb", 0), ("C/F#", 0), ("C7/E", 24), ("Cm7/Bb", 36), ("D/F♯", 2), ("C6/9/E", 0), ("Cmaj7/B", 0),
    ("Cdim/E", 48), ("Caug/E", 60),
    ("C#5", 1),  # '#5' right after the root letter is an accidental (C# power chord): write C+ or Caug
]  # fmt: skip


@pytest.mark.parametrize(("symbol", "expected"), TABLE)
def test_symbol_table(symbol: str, expected: int) -> None:
    assert parse_chord(symbol) == expected


@pytest.mark.parametrize("garbage", ["", "H7", "7", "Cxyz", "C-q", "hello", "?"])
def test_garbage_raises_clear_error(garbage: str) -> None:
    with pytest.raises(ChordError, match="cannot parse chord symbol"):
        parse_chord(garbage)


def test_vocabulary_names_round_trip() -> None:
    names = [chord_name(i) for i in range(VOCAB_SIZE)]
    assert len(set(names)) == VOCAB_SIZE
    assert [parse_chord(n) for n in names] == list(range(VOCAB_SIZE))


def test_transpose_class() -> None:
    assert transpose_class(parse_chord("G7"), 5) == parse_chord("C7")
    assert transpose_class(parse_chord("Bm7"), 1) == parse_chord("Cm7")
    assert transpose_class(parse_chord("C+"), 1) == parse_chord("Db+")
    assert transpose_class(NO_CHORD, 3) == NO_CHORD


def test_context_and_rows() -> None:
    seq = [parse_chord(s) for s in ["C", "C", "Am", "F", "G", "N.C.", "C", "G"]]
    ctx = chord_context(seq[:5])
    assert ctx[parse_chord("G")] == 1.0 and ctx[parse_chord("F")] == 0.5 and ctx[parse_chord("C")] == 0.125
    x, y = harmony_rows(seq, 0.5, -0.5)
    # merged: C Am F G NC C G -> pairs C>Am, Am>F, F>G, C>G (NC neither source nor target)
    assert x.shape == (4, 128) and y.shape == (4, 64)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    assert y[3].argmax() == parse_chord("G")
    assert x[3, 64:].sum() == 1.0  # N.C. cleared the history before the last C
