"""Stop and restart Redis (a test-owned server, no persistence) while jobs are queued and running: nothing lost."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.integration.conftest import BIN, Stack, _spawn, free_port, start_stack, stop

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("the test redis-server did not start")


def test_jobs_survive_a_redis_restart(tmp_path: Path) -> None:
    port = free_port()
    server = _redis(port, tmp_path)
    stack: Stack | None = None
    sweeper = None
    try:
        stack = start_stack(tmp_path, f"sqlite:///{tmp_path / 'mltrain.db'}", f"redis://127.0.0.1:{port}/0")
        sweeper = _spawn(
            [str(BIN / "mltrain"), "sweeper", "--interval", "0.5", "--resend-after", "3"],
            stack.env,
            tmp_path / "sweeper.log",
        )
        slow = {"epochs": 8, "synthetic_samples": 2048, "batch_size": 16, "checkpoint_every": 1}
        quick = {"epochs": 2, "synthetic_samples": 64}
        with stack.client() as client:
            body = {"type": "train", "model": "melody_transformer", "synthetic": True, "params": slow}
            running = client.post("/jobs", json=body).json()["id"]
            queued = [
                client.post(
                    "/jobs", json={"type": "train", "model": "groove_predictor", "synthetic": True, "params": quick}
                ).json()["id"]
                for _ in range(2)
            ]
            deadline = time.monotonic() + 60
            while client.get(f"/jobs/{running}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.1)
        server.terminate()  # no persistence: the queued messages are gone with it
        server.wait(timeout=10)
        time.sleep(2.0)
        server = _redis(port, tmp_path)
        for job_id in (running, *queued):
            done = stack.wait_for(job_id, timeout=180)
            assert done["status"] == "succeeded", (job_id, done["error"], stack.worker_log()[-2000:])
        # The queued messages died with Redis; the sweeper's re-send is what brought them back.
        sweeps = (tmp_path / "sweeper.log").read_text()
        assert all(job_id in sweeps for job_id in queued)
    finally:
        if sweeper is not None:
            stop(sweeper)
        if stack is not None:
            stop(stack.worker)
            stop(stack.api)
        server.terminate()
        server.wait(timeout=10)
