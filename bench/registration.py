"""Data-set registration at scale: POST /datasets latency and the background scan's rate, cold and cached.

For 1k, 10k and 100k small MIDI files (distinct content each, 16 hex folders like Lakh's lmd_full), through the
real code paths: the FastAPI app on SQLite (in-process client) answers the registration, then the validate job
runs as the `data` worker would (`worker.runner.execute_job`), first with an empty feature cache (cold), then
again on a fresh registration of the same folder (cached).

Run: .venv/bin/python -m bench.registration [--sizes 1000 10000 100000] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import tempfile
import time
from pathlib import Path

TICKS = 480  # per beat; 120 bpm: a beat is 0.5 s


def _vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def tiny_midi(index: int) -> bytes:
    """A 2-3 s one-track piano file named after `index` whose pitches, velocities and lengths follow it, so every
    file hashes differently and a cold scan really parses each one."""
    name = f"take {index}".encode()
    events = bytearray(b"\x00\xff\x03" + _vlq(len(name)) + name)  # a track name: every file is distinct
    events += b"\x00\xff\x51\x03\x07\xa1\x20"  # tempo 500000 us per beat
    pitches = [48 + (index + k * 7) % 36 for k in range(4)]
    length = TICKS + index % 97
    for step, pitch in enumerate(pitches):
        velocity = 40 + (index // 36 + step * 11) % 80
        events += b"\x00" + bytes([0x90, pitch, velocity])
        events += _vlq(length + (index // 3456) % 500) + bytes([0x80, pitch, 0])
    events += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS)
    return header + b"MTrk" + struct.pack(">I", len(events)) + bytes(events)


def write_corpus(root: Path, count: int) -> Path:
    """`count` tiny MIDI files under root/<hex>/ (Lakh-like fan-out)."""
    for index in range(count):
        folder = root / f"{index % 16:x}"
        if index < 16:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:06d}.mid").write_bytes(tiny_midi(index))
    return root


def measure(count: int, workers: int) -> dict[str, float]:
    """Registration latency (median of 5) and scan rates (cold, cached) for one corpus size."""
    from fastapi.testclient import TestClient

    from app.api.deps import get_enqueuer
    from app.config import Settings
    from app.db import session_scope
    from app.main import create_app
    from app.migrate import upgrade
    from app.services.tokens import create_token
    from worker.runner import execute_job

    with tempfile.TemporaryDirectory(prefix="mltrain-bench-") as tmp:
        base = Path(tmp)
        roots = base / "datasets"
        corpus = write_corpus(roots / "corpus", count)
        url = f"sqlite:///{base / 'mltrain.db'}"
        upgrade(url)
        settings = Settings(
            database_url=url,
            broker_url="memory://",
            object_dir=base / "objects",
            upload_dir=base / "uploads",
            dataset_roots=[roots],
            scan_workers=workers,
        )
        with session_scope(url) as session:
            token = create_token(session, name="bench")
        app = create_app(settings)
        sent: list[str] = []
        app.dependency_overrides[get_enqueuer] = lambda: lambda job_id, queue: sent.append(job_id)
        headers = {"Authorization": f"Bearer {token}"}
        latencies, rates = [], []
        with TestClient(app) as client:
            for attempt in range(5):
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/datasets", json={"name": f"c{attempt}", "path": str(corpus)}, headers=headers
                )
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 202, response.text
            for job_id in sent[:2]:  # the first scan is cold, the second finds every outcome in the cache
                started = time.perf_counter()
                assert execute_job(job_id, settings) == "succeeded"
                rates.append(count / (time.perf_counter() - started))
            ready = client.get("/api/v1/datasets", headers=headers, params={"limit": 5}).json()["data"]
            assert {d["usable"] for d in ready if d["status"] == "ready"} == {count}
    return {
        "files": count,
        "register_ms": 1000 * statistics.median(latencies),
        "cold_files_per_s": rates[0],
        "cached_files_per_s": rates[1],
    }


def main() -> None:
    """Print one row per corpus size (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    print(f"| files | POST /datasets (median of 5) | scan cold | scan cached | ({args.workers} scan processes)")
    print("|---|---|---|---|")
    for count in args.sizes:
        row = measure(count, args.workers)
        print(
            f"| {count:,} | {row['register_ms']:.1f} ms | {row['cold_files_per_s']:,.0f} files/s | "
            f"{row['cached_files_per_s']:,.0f} files/s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
