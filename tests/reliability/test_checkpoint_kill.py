"""SIGKILL a process while it rewrites a checkpoint, many times: the file on disk always loads."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow
KILLS = 10
WRITER = """
import sys, torch
from ml.checkpoint import save_checkpoint
from ml.models import build_model
torch.set_num_threads(1)
model = build_model("melody_transformer")  # ~2.6 MB of weights: each write takes a while
step = 0
while True:
    step += 1
    with torch.no_grad():
        next(model.parameters()).fill_(step)
    save_checkpoint(sys.argv[1], {"model_key": "melody_transformer", "model_state": model.state_dict(), "epoch": step})
    print(step, flush=True)
"""


def test_a_killed_checkpoint_write_leaves_the_previous_checkpoint_loadable(tmp_path: Path) -> None:
    path = tmp_path / "melody_transformer.last.pt"
    last_epoch = 0
    for kill in range(KILLS):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        process.stdout.readline()  # at least one complete write
        time.sleep(0.05 + 0.037 * kill)  # land at different points of the next writes
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
        state = load_checkpoint(path, expected_model="melody_transformer")
        assert state["epoch"] >= 1
        first = next(iter(state["model_state"].values()))
        assert float(first.flatten()[0]) == state["epoch"]  # weights and epoch come from one complete write
        last_epoch = state["epoch"]
    assert last_epoch >= 1
    assert not [p for p in tmp_path.iterdir() if p.name != path.name and not p.name.startswith(".")]
