"""The `mltrain` command: one argparse parser; each command family registers itself from its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ml.errors import MltrainError

# Modules that expose `register(subparsers)`. The service commands live in app/ and are optional: the ml
# package works alone, so a missing or broken service install only removes those commands.
COMMAND_MODULES = ("ml.cli.train", "ml.cli.export", "ml.cli.bundle", "ml.cli.datasets", "ml.cli.sweep")
SERVICE_COMMAND_MODULES = ("app.cli", "app.cli_sweeps")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available command."""
    parser = argparse.ArgumentParser(prog="mltrain", description="Train, evaluate and export the plugin's networks.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        _register(name, subparsers, optional=False)
    for name in SERVICE_COMMAND_MODULES:
        _register(name, subparsers, optional=True)
    return parser


def _register(module_name: str, subparsers: argparse._SubParsersAction, *, optional: bool) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only tolerate the module itself being absent, never a missing dependency inside it.
        if exc.name == module_name or (optional and exc.name and module_name.startswith(exc.name)):
            return
        raise
    module.register(subparsers)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run the command, turn user errors into one line and a non-zero exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    # Client libraries log every request at INFO; the commands print what matters themselves.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        result = args.handler(args)
    except MltrainError as exc:
        message = " ".join(line.strip() for line in str(exc).splitlines())  # always one line
        print(f"mltrain {args.command}: error: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"mltrain {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
