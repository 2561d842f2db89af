"""The plugin's C++ front end (ml/cpp/mltrain/*.h) computes the inputs the Python pipeline computes.

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
CPP = ROOT / "ml" / "cpp"
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


# --- dynamics_engine --------------------------------------------------------------------------------------------


def _hand_made_notes() -> np.ndarray:
    """Chords, chord-mates within 30 ms, repeated pitches, long holds, exact 4 s gaps, exact ties."""
    rows = [
        (0.0, 2.0, 60, 80), (0.0, 0.5, 64, 70), (0.0, 0.5, 67, 90), (0.02, 0.4, 72, 100),  # chord + late mate
        (0.5, 0.75, 60, 50), (0.5, 0.6, 60, 55),  # same onset and pitch (track order)
        (0.75, 1.0, 62, 64), (1.0, 1.25, 64, 66), (1.25, 9.0, 48, 30),  # a long hold
        (1.5, 1.51, 65, 127), (1.5 + 0.03, 1.6, 69, 1), (1.5 + 0.0301, 1.6, 71, 2),  # 30 ms edges
        (2.0, 2.125, 67, 90), (2.125, 2.25, 67, 91), (2.1875, 2.3, 66, 92),  # 32nd and half-way onsets
        (5.5, 6.0, 60, 40), (6.0, 6.5, 64, 45), (9.5, 10.0, 60, 60), (10.0, 12.0, 36, 100),  # 4 s gaps
    ]  # fmt: skip
    notes = np.array(rows, dtype=np.float64)
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def _random_notes(rng: np.random.Generator, n: int) -> np.ndarray:
    gaps = rng.exponential(0.25, n) * (rng.random(n) > 0.3)  # about a third start with the previous note
    gaps += rng.random(n) * 0.02 * (rng.random(n) > 0.7)  # some 0..20 ms spreads
    onsets = 0.3 + np.cumsum(gaps)
    notes = np.stack([onsets, onsets + rng.uniform(0.01, 3.0, n), rng.integers(21, 109, n), rng.integers(1, 128, n)], 1)
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def _midi_parsed(tmp_path: Path, name: str, **kwargs: float) -> dict[str, np.ndarray]:
    from ml.data.symbolic.midi import parse_midi_file
    from tests.fixtures.midi_sets import write_melody

    return parse_midi_file(write_melody(tmp_path / f"{name}.mid", **kwargs))  # type: ignore[arg-type]


def _dynamics_cases(tmp_path: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, bool | None, float]]:
    """(name, notes, beats, downbeats, forced grid or None for the file's own decision, lookahead)."""
    rng = np.random.default_rng(5)
    steady = np.arange(0, 16, 0.5)
    accelerando = np.concatenate([[0.0], np.cumsum(np.linspace(0.7, 0.35, 40))])
    hand = _hand_made_notes()
    cases: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, bool | None, float]] = [
        ("hand-made", hand, steady, steady[::4], None, 0.0),
        ("hand-made L=30ms", hand, steady, steady[::4], None, 0.03),
        ("hand-made L=50ms", hand, steady, steady[::4], True, 0.05),
        ("hand-made no downbeats", hand, steady, np.zeros(0), True, 0.0),
        ("hand-made one downbeat", hand, steady, steady[:1], True, 0.0),
        ("hand-made beats start late, end early", hand, steady[3:12] + 0.1, steady[3:12:3] + 0.1, True, 0.0),
    ]
    for k, bpm in enumerate((120.0, 93.0)):
        parsed = _midi_parsed(tmp_path, f"melody{k}", variant=k + 1, bars=6, bpm=bpm)
        cases.append((f"midi {bpm:g} BPM", parsed["notes"], parsed["beats"], parsed["downbeats"], None, 0.0))
        cases.append((f"midi {bpm:g} BPM L", parsed["notes"], parsed["beats"], parsed["downbeats"], None, 0.03))
    random_notes = _random_notes(rng, 220)
    cases.append(("random, 3/4 accelerando grid", random_notes, accelerando, accelerando[::3], True, 0.0))
    cases.append(("random, no grid", random_notes, accelerando, accelerando[::3], None, 0.0))
    cases.append(("random L=40ms", random_notes, accelerando, accelerando[::3], True, 0.04))
    quantised = np.array([(t, t + 0.2, 60 + (i * 5) % 24, 40 + i % 80) for i, t in enumerate(np.arange(0, 12, 0.125))])
    cases.append(("quantised 16ths", quantised, steady, steady[::4], None, 0.0))
    return cases


def test_dynamics_inputs(frontend: Path, tmp_path: Path) -> None:
    from ml.data.symbolic.dynamics import _causal_inputs, dynamics_rows, grid_alignment, grid_is_usable

    cases = _dynamics_cases(tmp_path)
    lines = []
    for _name, notes, beats, downbeats, forced, lookahead in cases:
        grid = grid_is_usable(notes[:, 0], beats) if forced is None else forced
        lines.append(
            f"dynamics {num(lookahead)} {int(grid)} {len(beats)} {nums(beats)} {len(downbeats)} {nums(downbeats)} "
            f"{len(notes)} " + " ".join(f"{num(a)} {num(b)} {int(p)} {int(v)}" for a, b, p, v in notes)
        )
    out = run_cases(frontend, lines)
    difference = plugin_difference = 0.0
    for (name, notes, beats, downbeats, forced, lookahead), row in zip(cases, out, strict=True):
        n = len(notes)
        grid = grid_is_usable(notes[:, 0], beats) if forced is None else forced
        expected = np.clip(_causal_inputs(notes, beats, downbeats, grid, lookahead, np.arange(n)), 0, 1)
        expected = expected.astype(np.float32)
        if forced is None:  # the public builder gives the same rows
            parsed = {"notes": notes, "beats": beats, "downbeats": downbeats}
            rows = dynamics_rows(parsed, lookahead, max_notes=n)
            assert rows.beat_grid == grid and np.array_equal(rows.inputs, expected), name
        assert int(row[1]) == n
        sixteenth, triplet = grid_alignment(notes[:, 0], beats)
        assert float(row[2]) == pytest.approx(sixteenth, rel=1e-12), name
        assert float(row[3]) == pytest.approx(triplet, rel=1e-12), name
        assert bool(int(row[4])) == grid_is_usable(notes[:, 0], beats), name
        got = floats(row[5 : 5 + 32 * n]).reshape(n, 32)
        plugin = floats(row[5 + 32 * n :]).reshape(n, 32)
        worst = np.abs(got - expected)
        assert worst.max() <= ABS_TOL, f"{name}: inputs {sorted(set(np.argwhere(worst > ABS_TOL)[:, 1]))} differ"
        assert np.array_equal(plugin, got), f"{name}: the plugin's causal, pruned view differs"
        difference = max(difference, float(worst.max()))
        plugin_difference = max(plugin_difference, float(np.abs(plugin - expected).max()))
    report("dynamics inputs", difference)
    report("dynamics inputs, plugin's causal view (held notes, pruned history)", plugin_difference)


# --- log-mel (emotion_recognizer) -------------------------------------------------------------------------------


def _audio_signals(tmp_path: Path) -> dict[str, np.ndarray]:
    import soundfile as sf

    from ml.data.audio.features import SAMPLE_RATE

    rng = np.random.default_rng(9)
    t = np.arange(int(2.0 * SAMPLE_RATE)) / SAMPLE_RATE
    sweep = 0.5 * np.sin(2 * np.pi * 50.0 * 2.0 / np.log(200.0) * (np.exp(t / 2.0 * np.log(200.0)) - 1))
    t_long = np.arange(int(6.5 * SAMPLE_RATE) + 123) / SAMPLE_RATE
    music = sum(0.2 / k * np.sin(2 * np.pi * 220.0 * k * t_long) for k in range(1, 6)) * (1 + np.sin(t_long))
    music = music + 0.01 * rng.standard_normal(len(t_long))
    clip = (0.6 * np.exp(-3 * t[:15000]) * np.sin(2 * np.pi * 440.0 * t[:15000])).astype(np.float32)
    sf.write(tmp_path / "clip.wav", clip, SAMPLE_RATE, subtype="PCM_16")
    clip_read, _ = sf.read(tmp_path / "clip.wav", dtype="float32")
    signals = {
        "sine sweep 50 Hz-10 kHz": sweep,
        "white noise": 0.1 * rng.standard_normal(int(2.5 * SAMPLE_RATE) + 77),
        "6.5 s tones + noise (3 windows)": music,
        "0.7 s decaying tone, WAV round trip": clip_read,
        "silence": np.zeros(SAMPLE_RATE // 2),
        "2100 samples (5 frames)": rng.uniform(-1, 1, 2100),
    }
    return {name: np.asarray(y, dtype=np.float32) for name, y in signals.items()}


def test_log_mel(frontend: Path, tmp_path: Path) -> None:
    from ml.data.audio.features import clip_features, log_mel, window_vectors

    signals = _audio_signals(tmp_path)
    lines = [f"logmel {len(y)} " + " ".join(repr(float(v)) for v in y) for y in signals.values()]
    out = run_cases(frontend, lines)
    frame_difference = window_difference = absolute_db = 0.0
    for (name, y), row in zip(signals.items(), out, strict=True):
        expected = log_mel(y).T  # [frames, 128] float32 dB
        frames = int(row[1])
        assert frames == len(expected), name
        got = np.array([float(t) for t in row[2 : 2 + 128 * frames]]).reshape(frames, 128)
        relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        frame_difference = max(frame_difference, float(relative.max()))
        absolute_db = max(absolute_db, float(np.abs(got - expected).max()))
        assert relative.max() <= ABS_TOL, f"{name}: log-mel differs by {relative.max():.3g} (relative)"
        rest = row[2 + 128 * frames :]
        windows = int(rest[0])
        expected_windows = clip_features(y)
        assert np.array_equal(expected_windows, window_vectors(log_mel(y)))
        assert windows == len(expected_windows), name
        got_windows = floats(rest[1 : 1 + 128 * windows]).reshape(windows, 128)
        relative = np.abs(got_windows - expected_windows) / np.maximum(np.abs(expected_windows), 1.0)
        window_difference = max(window_difference, float(relative.max()))
        assert relative.max() <= ABS_TOL, f"{name}: window inputs differ by {relative.max():.3g} (relative)"
        mismatches, checked = int(rest[1 + 128 * windows]), int(rest[2 + 128 * windows])
        assert mismatches == 0 and checked == windows, f"{name}: the stream differs from the offline frames"
    report("log-mel frames (relative to max(|dB|, 1))", frame_difference)
    report("log-mel window inputs (relative to max(|dB|, 1))", window_difference)
    report("log-mel frames, absolute dB", absolute_db)


def test_mel_filterbank_header_is_current() -> None:
    import importlib.util

    from ml.data.audio.features import mel_basis

    spec = importlib.util.spec_from_file_location("generate_mel_filterbank", CPP / "generate_mel_filterbank.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (CPP / "mltrain" / "mel_filterbank.h").read_text(encoding="utf-8")
    assert committed == module.render(), (
        "ml/cpp/mltrain/mel_filterbank.h is stale: run python ml/cpp/generate_mel_filterbank.py"
    )
    assert np.count_nonzero(mel_basis()) == int(committed.split("MEL_WEIGHT_COUNT = ")[1].split(";")[0])


# --- melody_transformer -----------------------------------------------------------------------------------------


def _melody_parsed(tmp_path: Path) -> dict[str, dict[str, np.ndarray]]:
    from ml.data.symbolic.midi import parse_midi_file
    from tests.fixtures.midi_sets import write_melody, write_notes

    minor_tune = [(57, 0, 1), (60, 1, 2), (64, 2, 3), (57, 3, 4.5), (59, 4.5, 5), (60, 5, 6), (62, 6, 7),
                  (64, 7, 8), (65, 8, 9), (64, 9, 10), (62, 10, 11), (60, 11, 12), (59, 12, 13), (57, 13, 16),
                  (45, 0, 8), (52, 8, 16), (57, 16, 20), (64, 16.5, 17), (69, 17, 24)]  # fmt: skip
    files = {
        "melody v1 120 BPM": write_melody(tmp_path / "m1.mid", variant=1, bars=12),
        "melody v3 97 BPM": write_melody(tmp_path / "m3.mid", variant=3, bars=9, bpm=97.0),
        "A minor, signature C major": write_notes(tmp_path / "am.mid", minor_tune, key="C"),
        "A minor moved to F# (shift +6)": write_notes(tmp_path / "fs.mid", minor_tune, shift=9, bpm=140.0),
        "A minor moved to G (shift -5), Eb signature": write_notes(
            tmp_path / "g.mid", minor_tune, shift=-2, key="Eb", bpm=80.0
        ),
    }
    return {name: parse_midi_file(path) for name, path in files.items()}


def test_melody_inputs(frontend: Path, tmp_path: Path) -> None:
    from ml.data.symbolic.key import estimate_key
    from ml.data.symbolic.melody import context_vector, key_relative_notes, melody_rows, segment_stats

    rng = np.random.default_rng(13)
    cases = []
    for name, parsed in _melody_parsed(tmp_path).items():
        key = estimate_key(parsed)
        stats = segment_stats(parsed, key_relative_notes(parsed["notes"], key))
        v, a = (float(x) for x in rng.uniform(-1, 1, 2))
        expected = []
        for k in range(len(stats.bounds)):
            previous = (stats.occupancy[k - 1], int(stats.onsets[k - 1]), float(stats.beats[k - 1])) if k else None
            x = context_vector(*previous, key.minor) if previous else context_vector(None, 0, 0.0, key.minor)
            x[0], x[1] = v, a
            expected.append(x.astype(np.float32))
        rows = melody_rows(parsed)  # the training rows are some of these segments (emotion columns still 0)
        kept = [k for k in range(len(stats.bounds)) if stats.onsets[k] >= 4 and stats.occupancy[k].max() > 0]
        assert np.array_equal(rows.inputs[:, 2:], np.array(expected)[kept][:, 2:]), name
        signature = int(parsed["key_signatures"][0, 1]) if len(parsed["key_signatures"]) else -1
        cases.append((name, key, np.array(expected), v, a, signature, parsed["notes"], stats))
    lines = []
    for _name, _key, _expected, v, a, signature, notes, stats in cases:
        bounds = np.concatenate([stats.bounds, stats.beats[:, None]], axis=1)
        lines.append(
            f"melody {num(v)} {num(a)} {signature} {len(notes)} "
            + " ".join(f"{num(s)} {num(e)} {int(p)}" for s, e, p, _ in notes)
            + f" {len(bounds)} {nums(bounds)}"
        )
    out = run_cases(frontend, lines)
    difference = 0.0
    for (name, key, want, *_), row in zip(cases, out, strict=True):
        assert (int(row[1]), bool(int(row[2])), bool(int(row[3]))) == (
            key.tonic, key.minor, key.source == "signature"), name  # fmt: skip
        assert int(row[4]) == len(want), name
        got = floats(row[5:]).reshape(len(want), 64)
        difference = max(difference, float(np.abs(got - want).max()))
        assert np.abs(got - want).max() <= ABS_TOL, name
    assert {c[1].shift for c in cases} >= {6, -5}  # both edges of the shift window are covered
    report("melody inputs", difference)


def test_key_frame_outputs(frontend: Path) -> None:
    from ml.data.symbolic.key import tonic_shift
    from ml.data.symbolic.melody import from_key_frame

    rng = np.random.default_rng(17)
    probs = rng.random((24, 128)).astype(np.float32)
    tonics = list(range(12)) * 2
    out = run_cases(frontend, [f"keyframe {t} {nums(p)}" for t, p in zip(tonics, probs, strict=True)])
    for tonic, p, row in zip(tonics, probs, out, strict=True):
        assert int(row[1]) == tonic_shift(tonic)
        assert np.array_equal(floats(row[2:]), from_key_frame(p, tonic))
