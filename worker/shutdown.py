"""Graceful stop of a worker process: a process-wide event the running job polls between batches.

Celery's warm shutdown only waits for the running task; it never tells the task. Here the MainProcess's
`worker_shutting_down` signal sets STOP (solo pool: the task runs in that process) and forwards SIGUSR2 to the
pool children (prefork: their SIGINT is ignored and SIGTERM would kill them), whose handler sets their own STOP.
The job then stops at the next batch, keeps its checkpoint and is released back to the queue (worker.runner).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)
STOP = threading.Event()
CHILD_STOP_SIGNAL = signal.SIGUSR2
PR_SET_PDEATHSIG = 1


def requested() -> bool:
    """True once this process was asked to shut down."""
    return STOP.is_set()


def request(*_: object) -> None:
    """Ask the running job of this process to stop and release itself."""
    STOP.set()


def forward_to_children() -> None:
    """Send CHILD_STOP_SIGNAL to this process's direct children (the prefork pool)."""
    for child in _children(os.getpid()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, CHILD_STOP_SIGNAL)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found.extend(int(part) for part in path.read_text().split())
    return found


def install_child_handlers() -> None:
    """In a pool child: CHILD_STOP_SIGNAL stops the job; die with the parent (no orphaned trainer)."""
    signal.signal(CHILD_STOP_SIGNAL, _on_child_signal)
    die_with_parent(signal.SIGKILL)


def _on_child_signal(_signum: int, _frame: FrameType | None) -> None:
    STOP.set()


def parent_death_signal(sig: int) -> Callable[[], None]:
    """A preexec_fn that makes the kernel send `sig` to the child when its parent dies (Linux; else a no-op).

    libc is resolved here, in the parent: after fork in a threaded parent the child may only make plain calls.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux / no prctl
        return lambda: None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return arm


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Arm the parent-death signal for this process itself (a pool child of the worker)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
