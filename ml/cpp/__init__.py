"""The plugin's header-only C++ front end (`mltrain/*.h`), shipped as package data so a wheel carries it too."""

from __future__ import annotations

from pathlib import Path

HEADER_NAMES = ("chords.h", "dynamics.h", "emotion.h", "harmony.h", "logmel.h", "mel_filterbank.h", "melody.h")


def include_dir() -> Path:
    """The folder to put on the compiler's include path (`#include "mltrain/<header>.h"`)."""
    return Path(__file__).resolve().parent


def frontend_headers() -> list[Path]:
    """Every front-end header, sorted by name (the ones a plugin build includes)."""
    return sorted((include_dir() / "mltrain").glob("*.h"))
