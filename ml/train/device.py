"""Device selection and torch thread settings."""

from __future__ import annotations

import torch

from ml.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """auto -> cuda, then mps, then cpu; an explicitly requested device that is absent is an error."""
    has_mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but no CUDA GPU is available (use --device cpu or auto)")
    if name == "mps" and not has_mps:
        raise ConfigError("device mps requested but Apple MPS is not available (use --device cpu or auto)")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)


def set_threads(threads: int) -> None:
    """Pin torch's intra-op threads; one per process avoids oversubscription when several workers share cores."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
