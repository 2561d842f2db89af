"""The API and the CLI's front door never import PyTorch (fast start, small client installs)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = (
    "import sys, runpy; sys.argv = {argv!r}\ntry:\n    {body}\nexcept SystemExit:\n    pass\n"
    "print('torch' in sys.modules)"
)


@pytest.mark.parametrize(
    ("argv", "body"),
    [
        (["mltrain", "--help"], "runpy.run_module('ml.cli.main', run_name='__main__')"),
        (["mltrain", "train", "--help"], "runpy.run_module('ml.cli.main', run_name='__main__')"),
        (["x"], "import app.main, ml.config, ml.models; ml.config.TrainConfig(epochs=3)"),
    ],
)
def test_no_torch_import(argv: list[str], body: str) -> None:
    code = PROBE.format(argv=argv, body=body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
