"""`mltrain datasets example DIR`: a small data set for every model, generated here in the published layouts.

Nothing is downloaded: every file is synthesised from fixed seeds, so two runs write the same MIDI and CSV bytes
(the MP3s come from libsndfile's LAME encoder, deterministic for one build). What it writes (about 1.7 MB):

- `deam/` (deam -> emotion_recognizer): `MEMD_audio/{song_id}.mp3`, 24 clips of 8 s at 22050 Hz, and DEAM's two
  static annotation CSVs (1..9 scale, a space after each comma, the second file's extra columns). Tempo, loudness
  and brightness rise with arousal; register and mode (major above 0, minor below, dissonance when negative)
  follow valence.
- `emopia/` (emopia -> melody_transformer): `midis/Q{n}_{youtube id}_{clip}.mid` + `label.csv`, 24 piano pieces of
  16 bars in several keys, major for positive valence and minor for negative, faster and denser with arousal;
  each piece develops one motif and register, so the previous 4 bars predict the next.
- `chords/` (chords-json -> harmony_predictor): `chord_progressions.json`, 60 distinct progressions (no two alike
  in any key) from per-mode chord-transition tables; sevenths and secondary dominants with arousal.
- `maestro/` (maestro -> dynamics_engine): `maestro-v3.0.0.csv` + year folders of `.midi`, 12 short piano
  performances (6 train, 3 validation, 3 test) with phrase-arc and pitch-following velocity, melody lead,
  phrase-end ritardando and onset jitter.
- `groove/` (groove-midi -> groove_predictor): `info.csv` + `drummerN/sessionN/*.mid`, 30 grooves in 10 styles of
  the style table (20 train, 5 validation, 5 test) with style-typical tempo, swing, density and fills.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

from ml.errors import DataError

SEED = 20240611
SAMPLE_RATE = 22050
CLIP_SECONDS = 8.0
DEAM_CSV_DIR = Path("annotations") / "annotations averaged per song" / "song_level"


@dataclass(frozen=True)
class ExampleSet:
    """One written subfolder: its format, the model it feeds, and what it holds."""

    folder: str
    format: str
    model: str
    files: int
    size_bytes: int
    description: str


# --- shared helpers -----------------------------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A CSV with '\\n' line ends (byte-identical on every platform)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _write_midi(path: Path, pm: pretty_midi.PrettyMIDI) -> None:
    """Write a PrettyMIDI object, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))


def _note(velocity: float, pitch: int, start: float, end: float) -> pretty_midi.Note:
    """A note with velocity clipped to 1..127 and at least 10 ms long."""
    start = max(start, 0.0)
    return pretty_midi.Note(int(np.clip(round(velocity), 1, 127)), int(pitch), start, max(end, start + 0.01))


def _summary(root: Path, folder: str, fmt: str, model: str, description: str) -> ExampleSet:
    """Count the files and bytes written under root/folder."""
    files = [p for p in (root / folder).rglob("*") if p.is_file()]
    return ExampleSet(folder, fmt, model, len(files), sum(p.stat().st_size for p in files), description)


MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; the leading tone is raised on dominant chords


def _scale_pitch(tonic: int, degree: int, minor: bool) -> int:
    """MIDI pitch of a scale degree (any integer, 0 = the tonic note `tonic`)."""
    scale = MINOR_SCALE if minor else MAJOR_SCALE
    octave, step = divmod(degree, 7)
    return tonic + 12 * octave + scale[step]


def _triad(tonic: int, degree: int, minor: bool) -> list[int]:
    """The diatonic triad on a scale degree (dominant major in minor keys), root position."""
    notes = [_scale_pitch(tonic, degree + k, minor) for k in (0, 2, 4)]
    if minor and degree % 7 == 4:
        notes[1] += 1  # harmonic minor: V, not v
    return notes


# --- deam (emotion_recognizer) --------------------------------------------------------------------------------


def _labels_grid(count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """`count` (valence, arousal) pairs in [-0.85, 0.85], an equal share in each quadrant, shuffled."""
    signs = [(1, 1), (-1, 1), (-1, -1), (1, -1)]
    pairs = []
    for i in range(count):
        sv, sa = signs[i % 4]
        v = sv * rng.uniform(0.15, 0.85)
        a = sa * rng.uniform(0.15, 0.85)
        pairs.append((round(v, 3), round(a, 3)))
    order = rng.permutation(count)
    return [pairs[i] for i in order]


def clip_signal(valence: float, arousal: float, rng: np.random.Generator) -> np.ndarray:
    """8 s of mono 22050 Hz audio whose tempo, loudness, brightness, register and mode follow the labels."""
    sr, n = SAMPLE_RATE, int(CLIP_SECONDS * SAMPLE_RATE)
    y = np.zeros(n)
    bpm = 72.0 + 44.0 * (arousal + 1.0) + rng.uniform(-4, 4)  # 72..160 BPM
    beat = 60.0 / bpm
    minor = valence < 0
    tonic = 45 + round(4 * (valence + 1)) + int(rng.integers(0, 3))  # higher register for positive valence
    rolloff = 0.25 + 0.3 * (arousal + 1.0)  # upper partials grow with arousal (brightness)
    decay = beat * (1.6 - 0.5 * arousal)  # low arousal: long, soft sustain
    degrees = (0, 3, 4, 0) if not minor else (0, 5, 3, 4)
    dissonance = max(-valence, 0.0) * 0.5  # a minor second above the root when negative
    strikes_per_beat = 2 if arousal > 0.3 else 1
    tail = min(int(3 * decay * sr), n)
    t = np.arange(tail) / sr
    envelope = np.minimum(t / 0.008, 1.0) * np.exp(-t / decay)
    tones = []  # one waveform per chord of the progression, struck again on every strike
    for degree in degrees:
        chord = [p + 12 for p in _triad(tonic, degree, minor)]
        tone = np.zeros(tail)
        for pitch in [*chord, chord[0] - 12]:
            f = 440.0 * 2 ** ((pitch - 69) / 12)
            for k in range(8):
                if f * (k + 1) < sr / 2:
                    tone += rolloff**k * np.sin(2 * np.pi * f * (k + 1) * t + rng.uniform(0, 2 * np.pi))
        if dissonance:
            tone += dissonance * np.sin(2 * np.pi * 440.0 * 2 ** ((chord[0] + 1 - 69) / 12) * t)
        tones.append(envelope * tone)
    t_strike = 0.0
    index = 0
    while t_strike < CLIP_SECONDS:
        bar = int(t_strike / (4 * beat))
        start = int(t_strike * sr)
        length = min(tail, n - start)
        accent = 1.0 if index % (4 * strikes_per_beat) == 0 else 0.7
        y[start : start + length] += accent * tones[bar % 4][:length]
        # A hi-hat-like noise burst on each strike, louder with arousal.
        burst = min(int(0.04 * sr), n - start)
        noise = np.diff(rng.normal(size=burst + 1)) * np.exp(-np.arange(burst) / (0.008 * sr))
        y[start : start + burst] += (0.4 + 1.6 * (arousal + 1.0)) * noise
        t_strike += beat / strikes_per_beat
        index += 1
    gain = 0.06 + 0.14 * (arousal + 1.0)  # loudness: 0.06..0.34 peak
    y = gain * y / max(float(np.abs(y).max()), 1e-9) + 0.002 * rng.normal(size=n)
    return np.clip(y, -0.99, 0.99).astype(np.float32)


def write_deam(root: Path, clips: int = 24) -> None:
    """DEAM's published layout: MEMD_audio/{song_id}.mp3 + the two static annotation CSVs (1..9 scale)."""
    rng = np.random.default_rng(SEED)
    labels = _labels_grid(clips, rng)
    # DEAM song ids start at 2; ids 2001+ are in the second annotation file.
    ids = [2 + 3 * i for i in range(clips - 4)] + [2001 + i for i in range(4)]
    audio = root / "MEMD_audio"
    audio.mkdir(parents=True)
    first, second = [], []
    for song, (valence, arousal) in zip(ids, labels, strict=True):
        signal = clip_signal(valence, arousal, np.random.default_rng([SEED, song]))
        sf.write(audio / f"{song}.mp3", signal, SAMPLE_RATE, format="MP3")
        v9, a9 = round(5 + 4 * valence, 2), round(5 + 4 * arousal, 2)
        spread = round(0.8 + 0.6 * float(rng.random()), 2)
        if song < 2000:
            first.append(f"{song}, {v9}, {spread}, {a9}, {spread}")
        else:
            extra = f"{min(v9 + 1, 9):.2f}, 1, {max(v9 - 1, 1):.2f}, 1"
            second.append(f"{song}, {v9}, {spread}, {extra}, {a9}, {spread}, {min(a9 + 1, 9):.2f}, 1, "
                          f"{max(a9 - 1, 1):.2f}, 1")  # fmt: skip
    csv_dir = root / DEAM_CSV_DIR
    csv_dir.mkdir(parents=True)
    header = "song_id, valence_mean, valence_std, arousal_mean, arousal_std"
    (csv_dir / "static_annotations_averaged_songs_1_2000.csv").write_text("\n".join([header, *first]) + "\n")
    header2 = ("song_id, valence_mean, valence_std, valence_max_mean, valence_max_std, valence_min_mean, "
               "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, arousal_min_mean, "
               "arousal_min_std")  # fmt: skip
    (csv_dir / "static_annotations_averaged_songs_2000_2058.csv").write_text("\n".join([header2, *second]) + "\n")


# --- emopia (melody_transformer) ------------------------------------------------------------------------------

YT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
QUADRANTS = {1: (0.5, 0.5), 2: (-0.5, 0.5), 3: (-0.5, -0.5), 4: (0.5, -0.5)}
TONICS = (0, 2, 4, 5, 7, 9, 10, 3)  # C D E F G A Bb Eb


def _youtube_id(rng: np.random.Generator, first: str | None = None) -> str:
    """An 11-character YouTube-style id (EMOPIA's ids may start with '_' or '-')."""
    chars = [YT_ALPHABET[int(i)] for i in rng.integers(0, len(YT_ALPHABET), 11)]
    if first is not None:
        chars[0] = first
    return "".join(chars)


def melody_piece(quadrant: int, tonic: int, rng: np.random.Generator, bars: int = 16) -> pretty_midi.PrettyMIDI:
    """A piano piece: a motif developed phrase by phrase over a chordal left hand, in the quadrant's mode/tempo."""
    valence, arousal = QUADRANTS[quadrant]
    minor = valence < 0
    bpm = float(rng.uniform(126, 150) if arousal > 0 else rng.uniform(66, 84))
    beat = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    base = 60 + tonic if tonic < 6 else 48 + tonic  # the piece's register, kept through the piece
    step = 0.5 if arousal > 0 else 1.0  # eighths when aroused, quarters when calm
    per_bar = int(4 / step)
    # One motif per piece (scale degrees), developed by phrase: sequence up, up again, back home with a cadence.
    motif = [0] + [int(d) for d in np.cumsum(rng.choice([-2, -1, 1, 2, 0, 3], size=per_bar * 2 - 1))]
    motif = [int(np.clip(d, -3, 9)) for d in motif]
    progressions = ((0, 5, 3, 4), (0, 3, 4, 0)) if not minor else ((0, 5, 2, 4), (0, 3, 4, 0))
    for bar in range(bars):
        phrase, inside = divmod(bar, 4)
        shift = (0, 2, 1, 0)[phrase % 4]
        t0 = bar * 4 * beat
        for i in range(per_bar):
            if arousal < 0 and i == per_bar - 1 and inside == 3:
                continue  # a breath at each phrase end
            degree = motif[(inside % 2) * per_bar + i] + shift
            if inside == 3 and i == per_bar - 1:
                degree = 0  # phrase ends on the tonic
            start = t0 + i * step * beat
            length = step * beat * (0.95 if arousal < 0 else 0.7)
            velocity = (88 if arousal > 0 else 58) + 8 * math.sin(math.pi * (inside * per_bar + i) / (4 * per_bar))
            piano.notes.append(_note(velocity + rng.normal(0, 3), _scale_pitch(base, degree, minor), start,
                                     start + length))  # fmt: skip
        chord = _triad(base - 12, progressions[phrase % 2][inside], minor)
        hits = (0.0, 1.0, 2.0, 3.0) if arousal > 0 else (0.0, 2.0)
        for h in hits:
            for pitch in chord:
                start = t0 + h * beat
                piano.notes.append(_note((70 if arousal > 0 else 45) + rng.normal(0, 2), pitch, start,
                                         start + beat * (0.9 if arousal > 0 else 1.9)))  # fmt: skip
    pm.instruments.append(piano)
    return pm


def write_emopia(root: Path, songs: int = 24) -> None:
    """EMOPIA's published layout: midis/Q{n}_{youtube id}_{clip}.mid + label.csv (ID,4Q,annotator)."""
    rng = np.random.default_rng(SEED + 1)
    rows: list[list[object]] = []
    for i in range(songs):
        quadrant = i % 4 + 1
        ident = _youtube_id(rng, "_" if i == 5 else "-" if i == 10 else None)
        clip = int(rng.integers(0, 6))
        stem = f"Q{quadrant}_{ident}_{clip}"
        piece = melody_piece(quadrant, TONICS[(i // 4 + i) % len(TONICS)], np.random.default_rng([SEED, 1, i]))
        _write_midi(root / "midis" / f"{stem}.mid", piece)
        rows.append([stem, quadrant, f"annotator{i % 3 + 1}"])
    _write_csv(root / "label.csv", ["ID", "4Q", "annotator"], rows)


# --- chords (harmony_predictor) -------------------------------------------------------------------------------

# (semitones above the tonic, quality suffix) per roman numeral; "7" marks a dominant seventh.
MAJOR_CHORDS = {"I": (0, ""), "ii": (2, "m"), "iii": (4, "m"), "IV": (5, ""), "V": (7, ""), "vi": (9, "m"),
                "vii": (11, "dim"), "Imaj7": (0, "maj7"), "ii7": (2, "m7"), "vi7": (9, "m7"), "IVmaj7": (5, "maj7"),
                "V7": (7, "7"), "II7": (2, "7"), "III7": (4, "7"), "VI7": (9, "7"), "bVII": (10, "")}  # fmt: skip
MINOR_CHORDS = {"i": (0, "m"), "ii0": (2, "dim"), "III": (3, ""), "iv": (5, "m"), "v": (7, "m"), "V": (7, ""),
                "VI": (8, ""), "VII": (10, ""), "i7": (0, "m7"), "iv7": (5, "m7"), "V7": (7, "7"),
                "iim7b5": (2, "m7b5"), "VImaj7": (8, "maj7"), "bII": (1, "")}  # fmt: skip
# Transitions: calm (low arousal) and energetic (high arousal) tables per mode.
MAJOR_CALM = {"I": ["IV", "vi", "ii7", "IVmaj7", "iii"], "Imaj7": ["IVmaj7", "vi7", "ii7"], "ii": ["V", "Imaj7"],
              "ii7": ["V", "Imaj7", "iii"], "iii": ["vi", "IV"], "IV": ["I", "ii7", "Imaj7"],
              "IVmaj7": ["Imaj7", "iii"], "V": ["I", "vi"], "vi": ["IV", "ii", "IVmaj7"], "vi7": ["ii7", "IVmaj7"],
              "vii": ["I"]}  # fmt: skip
MAJOR_ENERGETIC = {"I": ["V", "IV", "VI7", "bVII", "V7"], "IV": ["V7", "I", "II7", "bVII"], "V": ["I", "vi", "IV"],
                   "V7": ["I", "vi"], "vi": ["II7", "IV", "V"], "II7": ["V7", "V"], "VI7": ["ii", "II7"],
                   "ii": ["V7", "V"], "III7": ["vi"], "bVII": ["IV", "I"], "iii": ["III7", "vi"]}  # fmt: skip
MINOR_CALM = {"i": ["iv", "VI", "III", "i7"], "i7": ["iv7", "VImaj7"], "iv": ["i", "VI", "v"], "iv7": ["i7", "v"],
              "v": ["i", "VI"], "VI": ["III", "iv", "iim7b5"], "VImaj7": ["iv7", "i7"], "III": ["VI", "iv", "VII"],
              "VII": ["III", "i"], "iim7b5": ["V7", "v"], "V7": ["i"]}  # fmt: skip
MINOR_ENERGETIC = {"i": ["VII", "VI", "V7", "iv", "bII"], "VII": ["VI", "i", "III"], "VI": ["VII", "V", "iv"],
                   "V": ["i", "VI"], "V7": ["i", "VI"], "iv": ["V7", "V", "i"], "III": ["VII", "VI"],
                   "bII": ["V7", "i"], "ii0": ["V7"]}  # fmt: skip
KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _random_progression(minor: bool, energetic: bool, rng: np.random.Generator) -> list[str]:
    """Roman numerals of one progression: a walk through the transition table from the tonic."""
    table = (MINOR_ENERGETIC if energetic else MINOR_CALM) if minor else (MAJOR_ENERGETIC if energetic else MAJOR_CALM)
    current = "i" if minor else "I"
    walk = [current]
    for _ in range(int(rng.integers(5, 11))):
        current = str(rng.choice(table[current]))
        walk.append(current)
    tonic = "i" if minor else "I"
    if walk[-1] != tonic:
        walk.append(tonic)
    return walk


def write_chords(root: Path, count: int = 60) -> None:
    """The chords-json layout: chord_progressions.json with `count` distinct progressions (none alike in any key)."""
    rng = np.random.default_rng(SEED + 2)
    progressions: list[dict[str, object]] = []
    seen: set[tuple[tuple[int, str], ...]] = set()
    while len(progressions) < count:
        minor = bool(len(progressions) % 2)
        arousal = round(float(rng.uniform(-0.9, 0.9)), 2)
        valence = round(float(rng.uniform(-0.9, -0.2) if minor else rng.uniform(0.2, 0.9)), 2)
        walk = _random_progression(minor, arousal > 0, rng)
        chords = MINOR_CHORDS if minor else MAJOR_CHORDS
        merged = [w for i, w in enumerate(walk) if i == 0 or walk[i - 1] != w]
        signature = tuple((chords[w][0], chords[w][1]) for w in merged)
        if signature in seen:
            continue
        seen.add(signature)
        key = int(rng.integers(0, 12))
        symbols = [KEY_NAMES[(key + chords[w][0]) % 12] + chords[w][1] for w in walk]
        progressions.append({"name": f"example {len(progressions) + 1}",
                             "key": KEY_NAMES[key] + ("m" if minor else ""), "chords": symbols,
                             "emotion": {"valence": valence, "arousal": arousal}})  # fmt: skip
    root.mkdir(parents=True)
    (root / "chord_progressions.json").write_text(json.dumps({"progressions": progressions}, indent=1) + "\n")


# --- maestro (dynamics_engine) --------------------------------------------------------------------------------


RITARDANDO = 0.3  # tempo slows through each phrase's last bar, ending this much slower


def performance(index: int, rng: np.random.Generator, bars: int = 16) -> pretty_midi.PrettyMIDI:
    """A short piano performance: melody over Alberti or block-chord accompaniment, played expressively.

    Velocity follows a phrase arc (crescendo to the middle of each 4-bar phrase), pitch (higher is louder) and
    the downbeat; the melody sounds ~12 velocity louder and ~15 ms before the accompaniment; tempo slows over
    each phrase's last bar (ritardando); onsets carry ~8 ms of jitter; articulation is legato or detached.
    """
    minor = index % 3 == 2
    tonic = 55 + (index * 5) % 12  # G3..F#4 region for the melody's tonic octave below
    bpm = float(rng.uniform(72, 112))
    beat = 60.0 / bpm
    legato = index % 2 == 0
    alberti = index % 4 in (0, 3)
    loudness = float(rng.uniform(-10, 10))
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)  # MAESTRO's nominal tempo map: the playing ignores it
    piano = pretty_midi.Instrument(program=0, name="Piano")
    motif = [int(d) for d in np.cumsum(rng.choice([-1, 1, 2, -2, 0], size=8))]
    progression = (0, 3, 4, 0) if not minor else (0, 5, 3, 4)

    def when(beats: float) -> float:
        """Performance time of a score position: a ritardando over the last bar of every phrase."""
        phrase, inside = divmod(beats, 16.0)
        slow = max(inside - 12.0, 0.0)  # beats into the phrase's last bar
        return (phrase * (16.0 + 2 * RITARDANDO) + inside + RITARDANDO * slow * slow / 8.0) * beat

    for bar in range(bars):
        phrase_pos = (bar % 4) * 4  # beats into the phrase at this bar
        chord = _triad(tonic - 12, progression[bar % 4], minor)
        for i in range(8):  # melody: eighths
            score = bar * 4 + i * 0.5
            arc = math.sin(math.pi * (phrase_pos + i * 0.5) / 16.0)
            degree = motif[i] + (2 if bar % 4 == 1 else 0) + (1 if bar % 8 >= 4 else 0)
            if bar % 4 == 3 and i >= 6:
                degree = 0 if i == 6 else motif[0]
            pitch = _scale_pitch(tonic + 12, degree, minor)
            velocity = 64 + loudness + 22 * arc + 0.6 * (pitch - 72) + (6 if i == 0 else 0) + rng.normal(0, 3)
            start = when(score) - 0.015 + rng.normal(0, 0.008)
            end = when(score + 0.5) + 0.03 if legato else start + 0.55 * 0.5 * beat
            piano.notes.append(_note(velocity + 12, pitch, start, end))
        if alberti:
            pattern = [chord[0], chord[2], chord[1], chord[2]] * 2
            for i, pitch in enumerate(pattern):
                score = bar * 4 + i * 0.5
                arc = math.sin(math.pi * (phrase_pos + i * 0.5) / 16.0)
                velocity = 46 + loudness + 14 * arc + (5 if i == 0 else 0) + rng.normal(0, 3)
                start = when(score) + rng.normal(0, 0.008)
                piano.notes.append(_note(velocity, pitch, start, when(score + 0.5) - 0.02))
        else:
            for half in (0, 2):
                score = bar * 4 + half
                arc = math.sin(math.pi * (phrase_pos + half) / 16.0)
                for k, pitch in enumerate([chord[0] - 12, *chord]):
                    velocity = 50 + loudness + 14 * arc + (6 if half == 0 else 0) - 2 * k + rng.normal(0, 3)
                    start = when(score) + 0.004 * k + rng.normal(0, 0.006)  # a slightly rolled chord
                    piano.notes.append(_note(velocity, pitch, start, when(score + 2) - 0.05))
    pm.instruments.append(piano)
    return pm


MAESTRO_SPLITS = ("train", "train", "validation", "train", "test", "train") * 2
MAESTRO_YEARS = ("2004", "2006", "2008", "2009", "2011", "2013")


def write_maestro(root: Path, count: int = 12) -> None:
    """MAESTRO v3's published layout: maestro-v3.0.0.csv + year folders of .midi, with its split column."""
    header = ["canonical_composer", "canonical_title", "split", "year", "midi_filename", "audio_filename", "duration"]
    rows: list[list[object]] = []
    for i in range(count):
        year = MAESTRO_YEARS[i % len(MAESTRO_YEARS)]
        stem = f"MIDI-Unprocessed_{i + 1:02d}_R1_{year}_01-05_ORIG_MID--AUDIO_{i + 1:02d}_R1_{year}_wav--{i % 3 + 1}"
        pm = performance(i, np.random.default_rng([SEED, 3, i]))
        _write_midi(root / year / f"{stem}.midi", pm)
        key = KEY_NAMES[(55 + (i * 5) % 12) % 12] + (" minor" if i % 3 == 2 else " major")
        rows.append([f"Example Composer {'ABC'[i % 3]}", f"Study No. {i + 1} in {key}, Op. {10 + i // 3}",
                     MAESTRO_SPLITS[i], year, f"{year}/{stem}.midi", f"{year}/{stem}.wav",
                     f"{pm.get_end_time():.3f}"])  # fmt: skip
    _write_csv(root / "maestro-v3.0.0.csv", header, rows)


# --- groove (groove_predictor) --------------------------------------------------------------------------------

KICK, SNARE, RIM, HAT, PEDAL, OPEN_HAT, CRASH, RIDE, HIGH_TOM, MID_TOM, FLOOR_TOM = (
    36, 38, 37, 42, 44, 46, 49, 51, 50, 47, 43,
)  # fmt: skip


@dataclass(frozen=True)
class Style:
    """A groove style: GMD's style text, tempo range, subdivision and the pattern writer's choices."""

    name: str  # GMD style column, e.g. "funk/groove1"
    bpm: tuple[int, int]
    swing: float  # 0 straight, 1 triplet shuffle (off-beat eighths / sixteenths delayed)
    sixteenths: bool  # hi-hat/ride subdivision 16ths (else 8ths)
    kick: tuple[float, ...]  # beats in the bar
    snare: tuple[float, ...]
    cymbal: int  # HAT or RIDE
    ghosts: float  # probability of a ghost snare on each free 16th
    laid_back: float  # beats the snare sits behind the grid


SIXTEENTHS = tuple(step / 4 for step in range(16))  # double-kick 16ths over the bar
STYLES = (
    Style("rock", (108, 132), 0.0, False, (0, 2, 2.5), (1, 3), HAT, 0.0, 0.0),
    Style("funk/groove1", (92, 108), 0.0, True, (0, 0.75, 2.5), (1, 3), HAT, 0.35, 0.0),
    Style("jazz/swing", (130, 180), 1.0, False, (0,), (), RIDE, 0.2, 0.0),
    Style("latin/samba", (96, 104), 0.0, True, (0, 1.75, 2, 3.75), (0.5, 1.5, 2.75, 3.25), HAT, 0.0, 0.0),
    Style("hiphop/groove2", (84, 96), 0.6, True, (0, 1.75, 2.5), (1, 3), HAT, 0.1, 0.04),
    Style("reggae/onedrop", (68, 80), 0.3, False, (2,), (2,), HAT, 0.0, 0.02),
    Style("rock/metal", (160, 184), 0.0, True, SIXTEENTHS, (1, 3), RIDE, 0.0, 0.0),
    Style("punk", (180, 200), 0.0, False, (0, 1, 2, 3), (0.5, 1.5, 2.5, 3.5), HAT, 0.0, -0.01),
    Style("blues/shuffle", (88, 112), 1.0, False, (0, 2), (1, 3), HAT, 0.0, 0.01),
    Style("pop", (100, 122), 0.0, False, (0, 1.5, 2), (1, 3), HAT, 0.05, 0.0),
)


def _swung(position: float, swing: float, unit: float) -> float:
    """Delay off-beat subdivisions of length `unit` (beats): swing 1 puts them on the triplet."""
    within = position % (2 * unit)
    if abs(within - unit) < 1e-9:
        return position + swing * unit / 3.0
    return position


def groove(style: Style, variant: int, rng: np.random.Generator, bars: int = 16) -> tuple[pretty_midi.PrettyMIDI, int]:
    """A drum performance on GMD's Roland TD-11 pitches in a style, with fills every 4 bars; (MIDI, bpm)."""
    bpm = int(rng.integers(style.bpm[0], style.bpm[1] + 1))
    beat = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(bpm))
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    unit = 0.25 if style.sixteenths else 0.5
    if style.name.startswith("rock/metal"):
        unit = 0.5  # ride in eighths over double-kick sixteenths
    energy = 8.0 * (variant - 1)  # variants: softer, medium, harder

    def hit(pitch: int, position: float, velocity: float, late: float = 0.0) -> None:
        start = (position + late + rng.normal(0, 0.012)) * beat
        kit.notes.append(_note(velocity + energy + rng.normal(0, 6), pitch, start, start + 0.1))

    for bar in range(bars):
        t0 = 4.0 * bar
        fill = (bar % 4 == 3 and variant != 0) or bar == bars - 1
        if bar % 4 == 0:
            hit(CRASH, t0, 105)
        steps = round(4 / unit) if not fill else round(2 / unit)
        for s in range(steps):
            position = _swung(s * unit, style.swing, unit)
            if style.name.startswith("jazz"):
                pass  # ride pattern below
            elif style.name.startswith("reggae") and s % 2 == 0:
                hit(RIM if s % 4 == 2 else style.cymbal, t0 + position, 55)
                continue
            accent = 92 if abs(position % 1.0) < 1e-9 else 70
            hit(OPEN_HAT if style.name == "pop" and s == steps - 1 and not fill else style.cymbal, t0 + position,
                accent)  # fmt: skip
        if style.name.startswith("jazz"):
            for position in (0, 1, 1 + 2 / 3, 2, 3, 3 + 2 / 3):  # "ding, ding-a ding"
                if not fill or position < 2:
                    hit(RIDE, t0 + position, 88 if position % 1 == 0 else 70)
            for position in (1, 3):
                hit(PEDAL, t0 + position, 70)
        for position in style.kick:
            if not fill or position < 2:
                hit(KICK, t0 + position, 100 if position % 1 == 0 else 85)
        for position in style.snare:
            if not fill or position < 2:
                hit(SNARE, t0 + _swung(position, style.swing, 0.5), 108 if position % 1 == 0 else 92, style.laid_back)
        for s in range(16):
            position = s * 0.25
            if style.ghosts and position not in style.snare and rng.random() < style.ghosts and (not fill or s < 8):
                hit(SNARE, t0 + _swung(position, style.swing, 0.25), 32)
        if fill:
            toms = (HIGH_TOM, HIGH_TOM, MID_TOM, MID_TOM, FLOOR_TOM, FLOOR_TOM, SNARE, SNARE)
            for i, pitch in enumerate(toms):
                hit(pitch, t0 + 2 + i * 0.25, 80 + 3 * i)
    pm.instruments.append(kit)
    return pm, bpm


GROOVE_SPLITS = ("train", "train", "validation", "train", "train", "test")  # per (style, variant) in turn


def write_groove(root: Path) -> None:
    """Groove MIDI's published layout: info.csv + drummerN/sessionN/{n}_{style}_{bpm}_beat_4-4.mid, its split."""
    header = ["drummer", "session", "id", "style", "bpm", "beat_type", "time_signature", "midi_filename",
              "audio_filename", "duration", "split"]  # fmt: skip
    rows: list[list[object]] = []
    counters: dict[str, int] = {}
    for s, style in enumerate(STYLES):
        for variant in range(3):
            drummer = f"drummer{(s + variant) % 5 + 1}"
            session = f"{drummer}/session{variant + 1}"
            counters[session] = counters.get(session, 0) + 1
            number = counters[session]
            pm, bpm = groove(style, variant, np.random.default_rng([SEED, 4, s, variant]))
            name = f"{session}/{number}_{style.name.replace('/', '-')}_{bpm}_beat_4-4"
            _write_midi(root / f"{name}.mid", pm)
            split = "train" if variant < 2 else ("validation" if s % 2 == 0 else "test")
            rows.append([drummer, session, f"{session}/{number}", style.name, bpm, "beat", "4-4", f"{name}.mid",
                         f"{name}.wav", f"{pm.get_end_time():.6f}", split])  # fmt: skip
    _write_csv(root / "info.csv", header, rows)


# --- the whole example ----------------------------------------------------------------------------------------

WRITERS: tuple[tuple[str, str, str, Callable[[Path], None], str], ...] = (
    ("deam", "deam", "emotion_recognizer", write_deam, "24 clips x 8 s MP3 (22050 Hz) + static annotations"),
    ("emopia", "emopia", "melody_transformer", write_emopia, "24 piano pieces x 16 bars + label.csv (4 quadrants)"),
    ("chords", "chords-json", "harmony_predictor", write_chords, "60 chord progressions with valence/arousal"),
    ("maestro", "maestro", "dynamics_engine", write_maestro, "12 piano performances + maestro-v3.0.0.csv (6/3/3)"),
    ("groove", "groove-midi", "groove_predictor", write_groove, "30 grooves in 10 styles + info.csv (20/5/5)"),
)


def write_example(root: Path) -> list[ExampleSet]:
    """Write every example data set under `root` (new or empty); DataError if it exists and is not empty."""
    root = Path(root)
    if root.exists():
        if not root.is_dir():
            raise DataError(f"{root} exists and is not a folder; give a new or empty folder")
        if any(root.iterdir()):
            raise DataError(f"{root} is not empty; give a new or empty folder for the example data sets")
    root.mkdir(parents=True, exist_ok=True)
    written: list[ExampleSet] = []
    try:
        for folder, fmt, model, writer, description in WRITERS:
            writer(root / folder)
            written.append(_summary(root, folder, fmt, model, description))
    except BaseException:
        for folder, *_ in WRITERS:
            shutil.rmtree(root / folder, ignore_errors=True)
        raise
    return written
