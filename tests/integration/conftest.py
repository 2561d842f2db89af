"""Real service stacks for end-to-end tests: uvicorn and a Celery worker as separate processes.

`embedded`: SQLite + kombu's SQLAlchemy transport (what `make run` gives). `production`: PostgreSQL + Redis.
Every process is started on loopback and stopped by the fixture.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from app.db import session_scope
from app.migrate import upgrade
from app.services.tokens import create_token
from tests.app.conftest import create_postgres_database, drop_postgres_database

BIN = Path(sys.executable).parent


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_url() -> str:
    """A Redis database of its own on the local server, or fail (CI) / skip (locally)."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 and CI=true: these tests must run")
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    db = 1 + uuid.uuid4().int % 14
    redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
    return f"redis://127.0.0.1:6379/{db}"


@dataclass
class Stack:
    """A running API + worker and how to talk to them."""

    base_url: str
    env: dict[str, str]
    database_url: str
    object_dir: Path
    token: str
    api: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    log_dir: Path

    @property
    def headers(self) -> dict[str, str]:
        """Authorization for the stack's token."""
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        """An HTTP client on the API."""
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=self.headers, timeout=30)

    def wait_for(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Poll the job until it finishes; fail with the worker log on timeout."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                job = client.get(f"/jobs/{job_id}").json()
                if job["status"] in ("succeeded", "failed", "cancelled"):
                    return dict(job)
                time.sleep(0.3)
        pytest.fail(f"job {job_id} did not finish in {timeout} s:\n{self.worker_log()[-4000:]}")

    def worker_log(self) -> str:
        """What the worker printed so far."""
        return (self.log_dir / "worker.log").read_text(errors="replace")

    def start_worker(self, pool: str = "solo") -> subprocess.Popen[bytes]:
        """Start (or restart) the worker process."""
        self.worker = _spawn(
            [str(BIN / "mltrain"), "worker", "--pool", pool, "--queues", "cpu,data"],
            self.env,
            self.log_dir / "worker.log",
        )
        return self.worker


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def start_stack(tmp: Path, database_url: str, broker_url: str, **extra_env: str) -> Stack:
    """Migrate, create a token, start uvicorn and a solo-pool worker; wait until the API answers."""
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
        **extra_env,
    }
    upgrade(database_url)
    with session_scope(database_url) as session:
        token = create_token(session, name=f"e2e-{uuid.uuid4().hex[:6]}", owner="e2e")
    port = free_port()
    api = _spawn(
        [
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env,
        tmp / "api.log",
    )
    stack = Stack(f"http://127.0.0.1:{port}", env, database_url, tmp / "objects", token, api, api, tmp)
    stack.start_worker()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(stack.base_url + "/healthz", timeout=1).status_code == 200:
                return stack
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("the API did not start:\n" + (tmp / "api.log").read_text()[-3000:])


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.integration)])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """A running stack: embedded (SQLite + SQLAlchemy broker) or production (PostgreSQL + Redis)."""
    database = None
    if request.param == "embedded":
        running = start_stack(
            tmp_path, f"sqlite:///{tmp_path / 'mltrain.db'}", f"sqla+sqlite:///{tmp_path / 'broker.db'}"
        )
    else:
        database = create_postgres_database()
        running = start_stack(tmp_path, database, redis_url())
    try:
        yield running
    finally:
        stop(running.worker)
        stop(running.api)
        if database is not None:
            drop_postgres_database(database)
