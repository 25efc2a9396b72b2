"""Ctrl-C that stops a build between steps, not inside whatever bytecode happened to be running.

Python's default handler raises `KeyboardInterrupt` wherever the main thread is. Inside a weakref
callback or a `__del__` that exception is printed as "Exception ignored" and lost, so the build
carried on and exited 0 as though never interrupted. Here the first Ctrl-C only sets a flag, which
the build checks between files and document batches; a second Ctrl-C restores the default and
interrupts at once (the build is consistent at any point, so that is still safe).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopFlag:
    """Set by the first Ctrl-C; `check()` raises `KeyboardInterrupt` at a point of the caller's choosing."""

    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


@contextmanager
def deferred_interrupt() -> Iterator[StopFlag]:
    """Within the block, the first SIGINT sets the returned flag (main thread only)."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed in the main thread
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # started with Ctrl-C ignored (`cmd &` in a script): keep it so
        yield flag
        return
    # None: a handler installed from C, which Python cannot reinstall; restore the default then.
    if previous is None:
        previous = signal.default_int_handler

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        flag.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C is immediate

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
