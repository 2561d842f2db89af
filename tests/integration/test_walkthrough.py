"""The README's walkthrough, run as written against a real server and worker, on the bundled example."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import Stack

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"
MODELS = ("emotion_recognizer", "melody_transformer", "harmony_predictor", "dynamics_engine", "groove_predictor")


def walkthrough() -> str:
    """The shell block between the walkthrough markers of the README."""
    text = README.read_text()
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```sh\n", 1)[1].rsplit("```", 1)[0]


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_the_readme_walkthrough_works_as_written(stack: Stack, tmp_path: Path) -> None:
    home = tmp_path / "checkout"  # what the user's checkout looks like: .venv, var/datasets (an allowed root)
    (home / "var").mkdir(parents=True)
    (home / ".venv").symlink_to(Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[2] / ".venv")))
    (home / "var" / "datasets").symlink_to(Path(stack.env["MLTRAIN_DATASET_ROOTS"]))
    env = {**stack.env, "MLTRAIN_URL": stack.base_url, "MLTRAIN_TOKEN": stack.token}
    script = "set -euo pipefail\n" + walkthrough()
    done = subprocess.run(
        ["bash", "-c", script], cwd=home, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + stack.worker_log()[-3000:]
    out = re.sub(r"\b[0-9a-f]{32}\b", "<id>", done.stdout + done.stderr)
    for folder, fmt, usable in (("deam", "deam", 24), ("emopia", "emopia", 24), ("chords", "chords-json", 60),
                                ("maestro", "maestro", 12), ("groove", "groove-midi", 30)):  # fmt: skip
        assert f"<id> ready: {fmt}, {usable} usable of " in out, folder
    assert out.count("succeeded\n") == 6  # five trainings and the evaluation
    for model in MODELS:
        assert re.search(rf"^  {model}: test loss [0-9.e-]+ on \d+ held-out rows \(baselines: ", out, re.M), model
        assert f"plugin-models/{model}.json" in out
        assert (home / "plugin-models" / f"{model}.json").stat().st_size > 1000
    assert out.count("  groove_predictor: test loss") == 2  # the training's headline and the evaluate job's
