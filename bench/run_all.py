"""Run every benchmark module in bench/ in turn (`make bench`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    """Import and run each bench module's main(), printing a header per module."""
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name == "run_all":
            continue
        print(f"== bench.{info.name}", flush=True)
        sys.argv = [f"bench.{info.name}"]
        importlib.import_module(f"bench.{info.name}").main()


if __name__ == "__main__":
    main()
