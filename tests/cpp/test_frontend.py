"""The plugin's C++ front end (cpp/mltrain/*.h) computes the inputs the Python pipeline computes.

One C++ program (tests/cpp/frontend_test.cpp), compiled once per session with the flags a plugin build would
use plus -Werror, reads cases (one per line: a tag and numbers with full precision, strings as hex UTF-8) and
prints one result line per case. The expected values come from the Python code the models were trained with.
Comparisons: integer outputs (chord classes, grid indices, counts) exactly; float features in [0, 1] or
[-1, 1] within 1e-5 absolute; log-mel dB values within 1e-5 relative (to max(|dB|, 1), so a band near 0 dB
is held to 1e-5 dB). The largest difference of each group is printed (`pytest -s`).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ml import emotion
from ml.data.symbolic.chords import NO_CHORD, ChordError, chord_name, parse_chord
from ml.data.symbolic.harmony import harmony_rows

ROOT = Path(__file__).resolve().parents[2]
CPP = ROOT / "cpp"
SOURCE = Path(__file__).with_name("frontend_test.cpp")
FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2"]
ABS_TOL = 1e-5


@pytest.fixture(scope="session")
def frontend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled test program (once per session)."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.fail("g++ is not on PATH: the C++ front-end tests need a C++17 compiler (apt-get install g++)")
    binary = tmp_path_factory.mktemp("cpp") / "frontend_test"
    result = subprocess.run(
        [compiler, *FLAGS, "-I", str(CPP), str(SOURCE), "-o", str(binary)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.fail(f"compiling {SOURCE.name} failed:\n{result.stderr[-4000:]}")
    return binary


def run_cases(binary: Path, lines: Sequence[str]) -> list[list[str]]:
    """Feed the cases to the program; its result lines, split into tokens, checked against the tags."""
    result = subprocess.run([str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = [line.split() for line in result.stdout.splitlines()]
    assert len(out) == len(lines), f"{len(out)} result lines for {len(lines)} cases"
    for case, tokens in zip(lines, out, strict=True):
        assert tokens[0] == case.split()[0], f"result {tokens[:2]} for case {case[:40]!r}"
    return out


def num(value: float) -> str:
    """A float with full precision (round-trips through strtod)."""
    return repr(float(value))


def nums(values: Sequence[float] | np.ndarray) -> str:
    return " ".join(num(v) for v in np.asarray(values, dtype=np.float64).ravel())


def floats(tokens: Sequence[str]) -> np.ndarray:
    """Printed float32 results as float32 (so a bit-equal result compares as 0)."""
    return np.array([float(t) for t in tokens], dtype=np.float32)


def report(group: str, difference: float) -> None:
    print(f"\n[cpp frontend] {group}: max difference {difference:.3g}")


# --- emotion ----------------------------------------------------------------------------------------------------


def test_emotion_encode(frontend: Path) -> None:
    points = [(v, a) for v in np.linspace(-1.3, 1.3, 27) for a in np.linspace(-1.2, 1.2, 13)]
    points += [(0.123456789, -0.987654321), (1.0, 1.0), (-1.0, -1.0), (0.0, 0.0), (1 / 7, -3 / 7)]
    out = run_cases(frontend, [f"encode {num(v)} {num(a)}" for v, a in points])
    got = np.array([floats(row[1:]) for row in out])
    expected = emotion.encode([v for v, _ in points], [a for _, a in points])
    difference = float(np.abs(got - expected).max())
    report("emotion encode", difference)
    assert difference <= ABS_TOL


def test_emotion_decode(frontend: Path) -> None:
    rng = np.random.default_rng(3)
    steps = emotion._DECODE_STEPS
    clean = [emotion.encode(steps[c], steps[r]) for r, c in [(0, 0), (200, 200), (100, 100), (37, 151), (5, 199)]]
    off_grid = [emotion.encode(v, a) for v, a in rng.uniform(-1.2, 1.2, (20, 2))]
    noisy = [emotion.encode(v, a) + rng.normal(0, s, 64) for (v, a), s in zip(rng.uniform(-1, 1, (20, 2)),
             np.linspace(0.02, 0.6, 20), strict=True)]  # fmt: skip
    uniform = list(rng.uniform(-1, 1, (10, 64)))
    embeddings = np.array(clean + off_grid + noisy + uniform, dtype=np.float64)
    out = run_cases(frontend, [f"decode {nums(e)}" for e in embeddings])
    index = np.array([int(row[1]) for row in out])
    decoded = np.array([floats(row[2:4]) for row in out])
    expected = emotion.decode(embeddings)
    table = emotion._DECODE_TABLE.astype(np.float64)
    distance = emotion._DECODE_NORMS[None, :] - 2.0 * embeddings @ table.T
    best = distance.argmin(axis=1)
    # The same grid point, except where two points are closer than rounding can tell apart (none expected).
    margin = distance[np.arange(len(index)), index] - distance[np.arange(len(index)), best]
    assert np.all(margin <= 1e-9), f"C++ picked a farther grid point: margins {margin.max():.3g}"
    same = index == best
    assert np.array_equal(decoded[same], expected[same])
    assert same.sum() >= len(index) - 1
    report("emotion decode (grid index mismatches)", float((~same).sum()))


# --- chords and harmony -----------------------------------------------------------------------------------------

TRICKY_CHORDS = [
    # the Python test table
    "C", "Am", "C#", "Db", "E#", "Cb", "F##", "B♭", "G♯m", "Cmaj7", "CM7", "CΔ7", "C^7", "Cma7", "C6", "C69",
    "C6/9", "Cadd9", "Csus2", "Csus4", "C5", "Fmaj9#11", "Cm", "Cmin", "C-", "Cm6", "CmM7", "C-^7", "Cm(maj7)",
    "Cmadd9", "C7", "C9", "C13", "C7b9", "C7alt", "C7sus4", "C+7", "D7b13", "Eb9sus", "Bb7b9#5", "Cm7", "C-7",
    "Cmi7", "Cm9", "Am7/G", "Cdim", "C°", "Co7", "Cdim7", "Cm7b5", "Cø", "Ch7", "Caug", "C+", "E+", "G#+", "Ab+",
    "F+", "D+", "B+", "C/E", "Bb^7/D", "G:maj", "C^7(A-7)", "N.C.", "NC", "n",
    # iReal / jazz-standards spellings
    "B07", "B0", "B07b9", "C0", "Cm/maj7", "Cmin/maj7", "C-/maj7", "C-/M7", "Cm/Bb", "Cm/maj", "Cmb6", "C-b6",
    "C-6", "Cm69", "Cm6/9", "Cm11", "C-11", "Cm13", "Cminor", "Cminor7", "Cmajor", "Cmajor7", "CMaj13", "CMa7",
    "Cma", "Cmaj", "Calt", "C11", "C#5", "Caug7", "C+9", "C13#11", "C7#11", "C7#5", "C7b5", "Co", "C°7", "Cø7",
    "C-7b5", "Cmi7b5", "Cmin7b5", "Ch", "C2", "Cadd2", "C69/E", "Csus", "Csus9", "C9sus4", "Cadd11", "C6add9",
    "C:min7", "C:maj7", "C:7", "C:dim", "C:hdim7", "C:aug", "C:sus4", "C:min", "C:maj6", "C:dim7", "C:9",
    # roots, accidentals, slashes, parentheses, spaces
    "c", "bb7", "Bbb", "Cbbb", "Fb", "E#m", "C♯7", "D♭m7", "G♭Δ", "C(b9)", "C7(b9)", "Cm7(b5)", "C(", "C(add9",
    "C)", "C((b9))", "Cm((b9))", "C(b9)(#11)", "C/9", "C/Bb", "C/E/G", "C/e", "C/E#", "C/H", "C/", "C6/9/E",
    "  Dm7  ", "\u00a0G7\u2009", "C\u3000", "\tF#m7\n", "C M7", "C m", "Cm 7", "C\nm", "Cm\n7",
    # no chord and garbage
    "N.C", "n.c.", "No Chord", "NONE", "N", "X", "", " ", "H7", "7", "Cxyz", "C-q", "hello", "?", "Cq", "Cmq",
    "Cmin7b", "Cdimq", "Cs", "C#x", "Cm#5", "Cmaj#", "Cmm", "Cmi", "Cmo", "Cm-", "C--", "C-m", "C+m", "C°m",
]  # fmt: skip
FUZZ_PARTS = ["C", "D", "b", "#", "♭", "♯", "m", "M", "-", "+", "^", "Δ", "ø", "°", "o", "h", "0", "2", "5", "6",
              "7", "9", "11", "13", "maj", "min", "mi", "dim", "aug", "sus", "add", "alt", "/", ":", "(", ")", " ",
              "b5", "#5", "b9", "#11", "E", "G", "x"]  # fmt: skip


def python_chord(symbol: str) -> int:
    try:
        return parse_chord(symbol)
    except ChordError:
        return -2


def test_chord_parsing(frontend: Path) -> None:
    rng = random.Random(7)
    fuzz = ["".join(rng.choice(FUZZ_PARTS) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    fuzz = [rng.choice("ABCDEFGabcdefg") + s for s in fuzz[:2000]] + fuzz[2000:]
    symbols = TRICKY_CHORDS + fuzz
    out = run_cases(frontend, [f"chord {s.encode().hex() or '-'}" for s in symbols])
    wrong = []
    for symbol, row in zip(symbols, out, strict=True):
        expected = python_chord(symbol)
        name = chord_name(expected) if expected != -2 else None
        if int(row[1]) != expected or (name is not None and row[2] != name):
            wrong.append((symbol, expected, row[1:]))
    assert not wrong, f"{len(wrong)} symbols parse differently, e.g. {wrong[:10]}"
    parsed = sum(python_chord(s) >= 0 for s in symbols)
    assert parsed > 800 and python_chord("N.C.") == NO_CHORD  # the fuzz reaches many real chords
    report(f"chord classes ({len(symbols)} symbols, exact)", float(len(wrong)))


def test_harmony_inputs(frontend: Path) -> None:
    rng = np.random.default_rng(11)
    progressions = [
        [0, 0, 21, 5, 7, NO_CHORD, 0, 7],
        [24, 24, 24],
        [NO_CHORD, NO_CHORD, 36, 29, 29, 48, 60, 61, NO_CHORD, 2, 2, 14, 26, 2, 14],
        [0, 7, 0, 7, 0, 7, 0],
        [5],
        [],
    ]
    progressions += [
        list(rng.choice([*range(64), NO_CHORD, NO_CHORD], size=int(rng.integers(2, 40)))) for _ in range(30)
    ]
    emotions = [(float(v), float(a)) for v, a in rng.uniform(-1, 1, (len(progressions), 2))]
    lines = [f"harmony {num(v)} {num(a)} {len(p)} {' '.join(str(int(c)) for c in p)}"
             for p, (v, a) in zip(progressions, emotions, strict=True)]  # fmt: skip
    out = run_cases(frontend, lines)
    difference = 0.0
    for p, (v, a), row in zip(progressions, emotions, out, strict=True):
        expected, _ = harmony_rows([int(c) for c in p], v, a)
        assert int(row[1]) == len(expected)
        got = floats(row[2:]).reshape(len(expected), 128)
        if len(expected):
            difference = max(difference, float(np.abs(got - expected).max()))
    report("harmony inputs", difference)
    assert difference <= ABS_TOL
