"""Service latency: GET /api/v1/jobs/{id} and /healthz against a plain FastAPI + SQLAlchemy baseline.

Real processes on loopback, once on the embedded default (SQLite + kombu's SQLAlchemy broker) and once on
PostgreSQL + Redis when they are reachable. Each API is one uvicorn process (--workers 1 --log-level warning
--no-access-log); the stack also runs `mltrain worker --pool solo --queues cpu,data`.

- closed loop: wrk (or, if wrk is not installed, an asyncio httpx client; the output says which) with 50
  connections, a warm-up run then a measured run, worker idle;
- open loop: an asyncio httpx generator that sends at a fixed rate whatever the responses do and measures each
  request from its *scheduled* send time (no coordinated omission), while a synthetic training job runs;
- submit -> running: POST /jobs to the row being claimed, idle worker.

The baseline (bench/plain_app.py) reads one row by primary key from a table in the same database, and returns a
constant; GET /jobs/{id} is reported as a ratio to the row read.

Run: .venv/bin/python -m bench.service_latency [--closed-seconds 10 --open-seconds 20 --rate 100 --write]
     .venv/bin/python -m bench.service_latency --profile 300   # cProfile of GET /jobs/{id} via TestClient
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.db import Job, session_scope
from app.migrate import upgrade
from app.services.tokens import create_token
from bench import plain_app
from tests.app.conftest import create_postgres_database, drop_postgres_database, postgres_available
from tests.integration.conftest import BIN, Stack, _spawn, free_port, redis_url, stop

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "## Service latency (API + worker)"
TINY = {"epochs": 1, "synthetic_samples": 64, "batch_size": 32}
LONG = {"epochs": 200, "synthetic_samples": 2048, "early_stopping_patience": 0}
UVICORN_FLAGS = ["--workers", "1", "--log-level", "warning", "--no-access-log"]


# ----------------------------------------------------------------------------------------------- processes


def _uvicorn(target: str, env: dict[str, str], log: Path, ready: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [str(BIN / "python"), "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
               "--port", str(port), *UVICORN_FLAGS]  # fmt: skip
    process = _spawn(command, env, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + ready, timeout=1).status_code == 200:
                return process, base
        time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{target} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def start_stack(tmp: Path, database_url: str, broker_url: str) -> Stack:
    """tests.integration.conftest.start_stack's environment and processes, with the benchmark's uvicorn flags."""
    roots = tmp / "datasets"
    roots.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "MLTRAIN_DATABASE_URL": database_url,
        "MLTRAIN_BROKER_URL": broker_url,
        "MLTRAIN_OBJECT_DIR": str(tmp / "objects"),
        "MLTRAIN_DATASET_ROOTS": str(roots),
        "MLTRAIN_TORCH_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    upgrade(database_url)
    with session_scope(database_url) as session:
        token = create_token(session, name=f"bench-{uuid.uuid4().hex[:6]}", owner="bench")
    api, base = _uvicorn("app.main:create_app", env, tmp / "api.log", "/healthz")
    stack = Stack(base, env, database_url, tmp / "objects", token, api, api, tmp)
    stack.start_worker()
    return stack


def start_plain(tmp: Path, database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """The baseline app on the same database, with one row in its own table."""
    engine = plain_app.engine_for(database_url)
    plain_app.Base.metadata.create_all(engine)
    with plain_app.Session(engine) as session, session.begin():
        session.merge(plain_app.Item(id=1, name="baseline", status="succeeded"))
    engine.dispose()
    return _uvicorn("bench.plain_app:create_app", {**os.environ, "BENCH_PLAIN_DATABASE_URL": database_url},
                    tmp / "plain.log", "/const")  # fmt: skip


# ----------------------------------------------------------------------------------------------- load


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    assert match, text
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url: str, headers: dict[str, str], connections: int, seconds: float, warmup: float) -> dict[str, Any]:
    """One wrk run of warm-up + seconds (one thread: the other core stays with the server); req/s over the full
    wall-clock seconds after the warm-up (bench/wrk_buckets.lua), latency percentiles over the whole run."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{warmup + seconds:g}s", "--latency", "--timeout", "10s",
               "-s", str(Path(__file__).with_name("wrk_buckets.lua"))]  # fmt: skip
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(out, file=sys.stderr)
    buckets = {int(t): int(n) for t, n in re.findall(r"^bucket (\d+) (\d+)$", out, re.M)}
    first, last = min(buckets), max(buckets)
    kept = [buckets.get(t, 0) for t in range(first + 1 + int(np.ceil(warmup)), last)]  # full seconds only
    result: dict[str, Any] = {"req_per_s": float(np.mean(kept)) if kept else 0.0, "seconds_counted": len(kept)}
    for q in ("50", "99"):
        result[f"p{q}_ms"] = _ms(re.search(rf"^\s+{q}(?:\.000)?%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"^bad (\d+)$", out, re.M)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return result


async def _closed_httpx(url: str, headers: dict[str, str], connections: int, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(headers=headers, timeout=10, limits=limits) as client:
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + seconds

        async def worker() -> None:
            nonlocal errors
            while loop.time() < stop_at:
                start = loop.time()
                try:
                    ok = (await client.get(url)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(loop.time() - start)
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(connections)))
    values = 1000 * np.asarray(latencies)
    return {"req_per_s": len(latencies) / seconds, "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)), "requests": len(latencies), "errors": errors}  # fmt: skip


def closed_loop(url: str, headers: dict[str, str], connections: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Closed-loop throughput after a warm-up (wrk: one run, warm-up seconds dropped; httpx: a run discarded)."""
    if shutil.which("wrk"):
        return wrk(url, headers, connections, seconds, warmup)
    asyncio.run(_closed_httpx(url, headers, connections, warmup))
    return asyncio.run(_closed_httpx(url, headers, connections, seconds))


async def _open_loop(url: str, headers: dict[str, str], rate: float, seconds: float, warmup: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(headers=headers, timeout=10, limits=limits) as client:
        loop = asyncio.get_running_loop()

        async def one(scheduled: float) -> tuple[float, float, bool]:
            try:
                ok = (await client.get(url)).status_code == 200
            except httpx.HTTPError:
                ok = False
            return scheduled, loop.time() - scheduled, ok

        total = int(rate * (warmup + seconds))
        start = loop.time() + 0.05
        tasks = []
        send_lag = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            send_lag.append(loop.time() - scheduled)
            tasks.append(asyncio.create_task(one(scheduled)))
        results = await asyncio.gather(*tasks)
    measured = [(lat, ok) for scheduled, lat, ok in results if scheduled >= start + warmup]
    values = 1000 * np.asarray([lat for lat, _ in measured])
    return {
        "rate": rate,
        "requests": len(measured),
        "errors": sum(not ok for _, ok in measured),
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
        "send_lag_p99_ms": float(np.percentile(1000 * np.asarray(send_lag), 99)),
    }


def open_loop(url: str, headers: dict[str, str], rate: float, seconds: float, warmup: float) -> dict[str, Any]:
    """Open-loop latency at a fixed rate, measured from each request's scheduled send time."""
    return asyncio.run(_open_loop(url, headers, rate, seconds, warmup))


# ----------------------------------------------------------------------------------------------- measurements


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
    return {"p50_ms": 1000 * float(np.percentile(delays, 50)), "p95_ms": 1000 * float(np.percentile(delays, 95))}


@dataclass
class Trainer:
    """Keeps one long synthetic training job running (a new one if the last finished)."""

    stack: Stack
    job_id: str | None = None
    submitted: list[str] = field(default_factory=list)

    def ensure_running(self) -> None:
        with self.stack.client() as client:
            if self.job_id and client.get(f"/jobs/{self.job_id}").json()["status"] == "running":
                return
            body = {"type": "train", "model": "all", "synthetic": True, "params": LONG}
            response = client.post("/jobs", json=body)
            response.raise_for_status()
            self.job_id = response.json()["id"]
            self.submitted.append(self.job_id)
            deadline = time.monotonic() + 120
            while client.get(f"/jobs/{self.job_id}").json()["status"] != "running":
                if time.monotonic() > deadline:
                    raise RuntimeError("the training job did not start:\n" + self.stack.worker_log()[-3000:])
                time.sleep(0.2)
            time.sleep(1.0)  # past data generation, into the epochs

    def still_running(self) -> bool:
        with self.stack.client() as client:
            return bool(client.get(f"/jobs/{self.job_id}").json()["status"] == "running")

    def cancel(self) -> None:
        with self.stack.client() as client:
            for job_id in self.submitted:
                client.post(f"/jobs/{job_id}/cancel")
        for job_id in self.submitted:
            self.stack.wait_for(job_id, timeout=120)


def wait_responsive(url: str, headers: dict[str, str], timeout: float = 120.0) -> float:
    """Seconds until `url` answers 200 within 1 s (a server wedged by the closed-loop run recovers first)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=1).status_code == 200:
                return time.monotonic() - start
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not recover in {timeout} s")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(name: str, tmp: Path, database_url: str, broker_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement on one backend."""
    stack = start_stack(tmp, database_url, broker_url)
    plain, plain_base = start_plain(tmp, database_url)
    result: dict[str, Any] = {"stack": name, "load_before": loadavg()}
    try:
        with stack.client() as client:
            body = {"type": "train", "model": "dynamics_engine", "synthetic": True, "params": TINY}
            job_id = client.post("/jobs", json=body).json()["id"]
        stack.wait_for(job_id)  # a finished row: the read is the same whatever the status
        auth = stack.headers
        targets = {
            "GET /api/v1/jobs/{id}": (f"{stack.base_url}/api/v1/jobs/{job_id}", auth),
            "plain FastAPI + SQLAlchemy row": (f"{plain_base}/items/1", {}),
            "GET /healthz": (f"{stack.base_url}/healthz", {}),
            "plain FastAPI constant": (f"{plain_base}/const", {}),
        }
        for url, headers in targets.values():
            response = httpx.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code, response.text)
        if args.submit_jobs:
            result["submit_to_running"] = submit_to_running(stack, args.submit_jobs)
        closed = {}
        for label, (url, headers) in targets.items():
            waited = sum(wait_responsive(u, h) for u, h in targets.values())
            closed[label] = closed_loop(url, headers, args.connections, args.closed_seconds, args.warmup)
            closed[label]["waited_for_servers_s"] = round(waited, 1)
            print(f"  closed {name} {label}: {closed[label]}", file=sys.stderr, flush=True)
        result["closed"] = closed
        result["load_closed"] = loadavg()
        trainer = Trainer(stack)
        opened = {}
        for label, (url, headers) in targets.items():
            opened_wait = sum(wait_responsive(u, h) for u, h in targets.values())
            trainer.ensure_running()
            opened[label] = open_loop(url, headers, args.rate, args.open_seconds, args.warmup)
            opened[label]["trained_throughout"] = trainer.still_running()
            opened[label]["waited_for_servers_s"] = round(opened_wait, 1)
            print(f"  open {name} {label}: {opened[label]}", file=sys.stderr, flush=True)
        result["open"] = opened
        result["training_jobs"] = len(trainer.submitted)
        result["load_open"] = loadavg()
        trainer.cancel()
    finally:
        stop(plain)
        stop(stack.worker)
        stop(stack.api)
    return result


# ----------------------------------------------------------------------------------------------- report


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    ours, base = "GET /api/v1/jobs/{id}", "plain FastAPI + SQLAlchemy row"
    lines = [
        f"| stack | endpoint | closed loop req/s ({args.connections} conn.) | closed p50 / p99 (ms) "
        f"| open loop {args.rate:g} req/s, job training: p50 / p99 (ms) | errors |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for label, closed in r["closed"].items():
            opened = r["open"][label]
            flag = "" if opened["trained_throughout"] else " (job ended early)"
            lines.append(
                f"| {r['short']} | {label} | {closed['req_per_s']:.0f} "
                f"| {closed['p50_ms']:.1f} / {closed['p99_ms']:.1f} "
                f"| {opened['p50_ms']:.1f} / {opened['p99_ms']:.1f}{flag} | {closed['errors'] + opened['errors']} |"
            )
    lines += ["", "| stack | GET /jobs/{id} ÷ plain row read, closed-loop req/s (target ≥ 0.5) "
              "| open-loop p99 (target < 50 ms) | submit -> running p50 / p95 (ms), idle worker | load average |",
              "|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        ratio = r["closed"][ours]["req_per_s"] / r["closed"][base]["req_per_s"]
        p99 = r["open"][ours]["p99_ms"]
        submit = r.get("submit_to_running")
        submit_text = f"{submit['p50_ms']:.0f} / {submit['p95_ms']:.0f}" if submit else "-"
        lines.append(
            f"| {r['short']} | {ratio:.2f} ({'met' if ratio >= 0.5 else 'missed'}) "
            f"| {p99:.1f} ms ({'met' if p99 < 50 else 'missed'}) | {submit_text} "
            f"| {' / '.join(r[k].split()[0] for k in ('load_before', 'load_closed', 'load_open'))} |"
        )
    return "\n".join(lines)


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, nproc {os.cpu_count()}, Python {platform.python_version()}"


def write_section(text: str) -> None:
    """Replace the Service latency section of BENCHMARKS.md (up to the next '## ' heading or the end)."""
    content = BENCHMARKS.read_text()
    start = content.index(SECTION)
    nxt = content.find("\n## ", start + len(SECTION))
    end = len(content) if nxt < 0 else nxt + 1
    BENCHMARKS.write_text(content[:start] + text.rstrip() + "\n" + ("\n" + content[end:] if nxt >= 0 else ""))


# ----------------------------------------------------------------------------------------------- profile


def profile(requests: int) -> None:
    """cProfile of `requests` GET /api/v1/jobs/{id} on a temporary SQLite database, the ASGI app driven by
    httpx.ASGITransport in this thread with anyio's thread offload made inline, so the profile sees the endpoint,
    its dependencies and the database work (TestClient would run them in other threads, out of cProfile's sight)."""
    import cProfile
    import pstats

    import anyio.to_thread

    from app.config import Settings
    from app.main import create_app

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]

    async def drive(client: httpx.AsyncClient, path: str, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            (await client.get(path)).raise_for_status()
        return 1000 * (time.perf_counter() - start) / count

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/db.sqlite"
        upgrade(url)
        with session_scope(url) as session:
            token = create_token(session, name="profile", owner="bench")
        settings = Settings(database_url=url, broker_url=f"sqla+sqlite:///{tmp}/broker.db",
                            object_dir=Path(tmp) / "objects", dataset_roots=[Path(tmp)])  # fmt: skip
        for folder in (settings.object_dir, settings.upload_dir):
            folder.mkdir(parents=True, exist_ok=True)
        app = create_app(settings)
        app.state.enqueue = lambda job_id, queue: None

        async def main() -> None:
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
                body = {"type": "train", "model": "dynamics_engine", "synthetic": True, "params": TINY}
                job_id = (await client.post("/api/v1/jobs", json=body)).json()["id"]
                path = f"/api/v1/jobs/{job_id}"
                await drive(client, path, 100)
                jobs = await drive(client, path, requests)
                await drive(client, "/healthz", requests)
                plain = await drive(client, "/healthz", requests)
                with cProfile.Profile() as prof:
                    await drive(client, path, requests)
                print(f"in-process, no profiler: GET /jobs/{{id}} {jobs:.2f} ms, /healthz "
                      f"{plain:.2f} ms per request (ASGITransport client included)")  # fmt: skip
                stats = pstats.Stats(prof).sort_stats("cumulative")
                stats.print_stats(60)
                stats.sort_stats("tottime").print_stats(30)

        asyncio.run(main())


# ----------------------------------------------------------------------------------------------- main


def main() -> None:
    """Print one JSON line per stack and the markdown table; --write puts it into BENCHMARKS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--closed-seconds", type=float, default=10.0)
    parser.add_argument("--open-seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--submit-jobs", type=int, default=10)
    parser.add_argument("--stacks", default="sqlite,postgres")
    parser.add_argument("--write", action="store_true", help="replace BENCHMARKS.md's Service latency section")
    parser.add_argument("--profile", type=int, default=0, help="only profile N requests in-process and exit")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    generator = "wrk " + subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1] \
        if shutil.which("wrk") else None  # fmt: skip
    if generator is None:
        print("NOTE: wrk is not installed (apt-get install -y wrk): closed-loop numbers come from an asyncio httpx "
              "client, which saturates before uvicorn does on a small machine", file=sys.stderr)  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in args.stacks:
            root = Path(tmp) / "embedded"
            root.mkdir()
            r = run("embedded (SQLite + SQLAlchemy broker)", root, f"sqlite:///{root / 'db.sqlite'}",
                    f"sqla+sqlite:///{root / 'broker.db'}", args)  # fmt: skip
            r["short"] = "SQLite"
            results.append(r)
            print(json.dumps(r), flush=True)
        if "postgres" in args.stacks and postgres_available():
            root = Path(tmp) / "production"
            root.mkdir()
            database = create_postgres_database()
            try:
                r = run("PostgreSQL + Redis", root, database, redis_url(), args)
            finally:
                drop_postgres_database(database)
            r["short"] = "PostgreSQL"
            results.append(r)
            print(json.dumps(r), flush=True)
    closed_tool = generator or "asyncio httpx closed-loop client (wrk not installed)"
    report = "\n".join([
        SECTION, "",
        f"`.venv/bin/python -m bench.service_latency{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}` — "
        f"{machine()}, {time.strftime('%Y-%m-%d')}. Real processes on loopback: each API is one uvicorn process "
        f"(`{' '.join(UVICORN_FLAGS)}`, asyncio loop, h11), the stack also runs `mltrain worker --pool solo "
        "--queues cpu,data` (one torch thread); the load generator shares the same 2 cores.", "",
        f"Closed loop: {closed_tool}, one thread, {args.connections} connections, {args.warmup:g} s warm-up then "
        f"{args.closed_seconds:g} s, worker idle. Open loop: an asyncio httpx generator sending {args.rate:g} req/s "
        f"on a fixed schedule for {args.open_seconds:g} s (after {args.warmup:g} s warm-up), latency measured from "
        "each request's scheduled send time (no coordinated omission), while a synthetic `model: all` job trains "
        f"(`{json.dumps(LONG)}`). Baseline (`bench/plain_app.py`): plain FastAPI + SQLAlchemy reading one row by "
        "primary key from a table in the same database (ORM session per request, same pool sizing), and plain "
        "FastAPI returning a constant; GET /jobs/{id} carries the bearer token (token check and row read: one "
        "session, one thread-pool call).",
        "", table(results, args), "",
        "Load average: 1-minute, before / after the closed-loop runs / after the open-loop runs (the machine is "
        "shared with other work, so the load before includes it).",
    ])  # fmt: skip
    print(report)
    if args.write:
        write_section(report + "\n")


if __name__ == "__main__":
    main()
