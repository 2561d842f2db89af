"""Service latency: submit -> running with an idle worker, and GET /jobs/{id} under 50 concurrent pollers.

Runs real processes on loopback (uvicorn + a solo-pool Celery worker), once on the embedded default
(SQLite + kombu SQLAlchemy broker) and once on PostgreSQL + Redis when they are reachable.
Run: .venv/bin/python -m bench.service_latency [--jobs 20 --clients 50 --seconds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.db import Job, session_scope, utcnow
from tests.app.conftest import create_postgres_database, drop_postgres_database, postgres_available
from tests.integration.conftest import Stack, redis_url, start_stack, stop

TINY = {"epochs": 1, "synthetic_samples": 64, "batch_size": 32}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def submit_to_running(stack: Stack, jobs: int) -> dict[str, float]:
    """Seconds from sending POST /jobs to the row being claimed (started_at), one job at a time."""
    delays = []
    with stack.client() as client:
        for _ in range(jobs):
            body = {"type": "train", "model": "dynamics_engine", "synthetic": True, "params": TINY}
            submitted = time.time()  # before the request: a fast worker claims before the response arrives
            job_id = client.post("/jobs", json=body).json()["id"]
            while True:
                with session_scope(stack.database_url) as session:
                    job = session.get(Job, job_id)
                    assert job is not None
                    started = job.started_at
                if started is not None:
                    delays.append(started.timestamp() - submitted)
                    break
                time.sleep(0.002)
            stack.wait_for(job_id)
    return {"p50_ms": 1000 * _percentile(delays, 50), "p95_ms": 1000 * _percentile(delays, 95), "jobs": jobs}


def polling(stack: Stack, clients: int, seconds: float) -> dict[str, float]:
    """GET /jobs/{id} latency and throughput with `clients` threads while a training job runs."""
    with stack.client() as client:
        body = {"type": "train", "model": "melody_transformer", "synthetic": True,
                "params": {"epochs": 1000, "synthetic_samples": 2048, "early_stopping_patience": 0}}  # fmt: skip
        running = client.post("/jobs", json=body).json()["id"]
    samples: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        local = []
        with httpx.Client(base_url=stack.base_url + "/api/v1", headers=stack.headers, timeout=30) as http:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                http.get(f"/jobs/{running}").raise_for_status()
                local.append(time.perf_counter() - start)
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with stack.client() as client:
        client.post(f"/jobs/{running}/cancel")
    stack.wait_for(running, timeout=60)
    return {
        "requests": len(samples),
        "req_per_s": len(samples) / seconds,
        "p50_ms": 1000 * statistics.median(samples),
        "p99_ms": 1000 * _percentile(samples, 99),
    }


def fill_jobs(stack: Stack, count: int) -> None:
    """Insert finished jobs directly, so the table holds `count` rows."""
    with session_scope(stack.database_url) as session:
        owner = "e2e"
        now = utcnow()
        for _ in range(count):
            session.add(Job(id=uuid.uuid4().hex, owner=owner, type="train", model="groove_predictor", synthetic=True,
                            params={}, queue="cpu", status="succeeded", attempt=1, max_attempts=3, created_at=now,
                            updated_at=now, finished_at=now))  # fmt: skip


def run(name: str, stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """All measurements on one stack."""
    result: dict[str, Any] = {"stack": name, "submit_to_running": submit_to_running(stack, args.jobs)}
    result["polling_while_training"] = polling(stack, args.clients, args.seconds)
    fill_jobs(stack, 1000)
    result["polling_with_1000_jobs"] = polling(stack, args.clients, args.seconds)
    return result


def main() -> None:
    """Print one JSON line per stack."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "embedded"
        root.mkdir()
        stack = start_stack(root, f"sqlite:///{root / 'db.sqlite'}", f"sqla+sqlite:///{root / 'broker.db'}")
        try:
            print(json.dumps(run("embedded (SQLite + SQLAlchemy broker)", stack, args)), flush=True)
        finally:
            stop(stack.worker)
            stop(stack.api)
        if postgres_available():
            root = Path(tmp) / "production"
            root.mkdir()
            database = create_postgres_database()
            stack = start_stack(root, database, redis_url())
            try:
                print(json.dumps(run("PostgreSQL + Redis", stack, args)), flush=True)
            finally:
                stop(stack.worker)
                stop(stack.api)
                drop_postgres_database(database)


if __name__ == "__main__":
    main()
