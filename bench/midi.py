"""MIDI parsing + feature building throughput, first (cold cache) and second (warm cache) pass.

    .venv/bin/python -m bench.midi [--files 200] [--bars 32]

Writes a corpus of real MIDI files (pretty_midi, deterministic piano performances and drum grooves) to a
temporary folder, then prepares it as `midi-folder` (dynamics_engine), `midi-labels` (melody_transformer) and
`groove-midi` (groove_predictor) through ml.data.cache.FeatureCache, twice. Prints files/s per pass and the
speed-up of the cached pass (target >= 50x).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ml.data.base import LoadOptions
from ml.data.registry import load_dataset
from tests.fixtures.midi_sets import write_drums, write_melody


def _corpus(base: Path, files: int, bars: int) -> dict[str, Path]:
    perf, labelled, groove = base / "perf", base / "labelled", base / "groove" / "groove"
    labels = {}
    lines = ["drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,audio_filename,duration,split"]
    for i in range(files):
        write_melody(perf / f"take{i:04d}.mid", i, bars=bars)
        write_melody(labelled / f"song{i:04d}.mid", i + 1, bars=bars)
        labels[f"song{i:04d}.mid"] = {"valence": (i % 21) / 10 - 1, "arousal": (i % 17) / 8 - 1}
        name = f"drummer1/session1/{i}_funk_{90 + i % 60}_beat_4-4.mid"
        write_drums(groove / name, i, bars=bars, bpm=90 + i % 60)
        lines.append(f"drummer1,drummer1/session1,d1/{i},funk,{90 + i % 60},beat,4-4,{name},x.wav,10,train")
    (labelled / "emotion_labels.json").write_text(json.dumps(labels))
    (groove / "info.csv").write_text("\n".join(lines) + "\n")
    return {"dynamics_engine": perf, "melody_transformer": labelled, "groove_predictor": groove.parent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--bars", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        roots = _corpus(base, args.files, args.bars)
        try:
            import ml.data.cache  # noqa: F401

            options = LoadOptions(cache_dir=base / "cache")
        except ImportError:
            print("ml.data.cache not available: both passes compute everything (no cache)")
            options = LoadOptions()
        for model, root in roots.items():
            timings = []
            for _pass in range(2):
                start = time.perf_counter()
                ds = load_dataset(root, model, options=options)
                timings.append(time.perf_counter() - start)
            first, second = (args.files / t for t in timings)
            print(
                f"{model:20s} rows={len(ds):6d} first pass {first:8.1f} files/s   cached pass {second:9.1f} files/s"
                f"   speed-up {timings[0] / timings[1]:6.1f}x   cache {ds.info['cache']}"
            )


if __name__ == "__main__":
    main()
