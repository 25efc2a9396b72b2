"""`WritePace`: tells a stream of writes (a bulk load) from a pause, for the keeper's upkeep.

A background re-tune reads the whole store. Started in the middle of a bulk load it only races
with the next write and starts again, so the keeper defers it until writes pause for `QUIET_S`
(or until ``flush``). A write that starts within `QUIET_S` of the previous one's end is part of
a stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# A re-tune waits until writes pause this long.
QUIET_S = 1.0


class WritePace:
    """When the last write started and the one before it ended; a timer for the next pause."""

    def __init__(self, lock: threading.RLock, cancelled: threading.Event) -> None:
        self._lock = lock  # the keeper's: the timer's callback runs under it
        self._cancelled = cancelled
        self._started = self._ended = 0.0
        self._timer: threading.Timer | None = None

    def started(self) -> None:
        self._started = time.monotonic()

    def ended(self) -> None:
        self._ended = time.monotonic()

    @property
    def streaming(self) -> bool:
        """True while writes follow each other closer than `QUIET_S`."""
        return self._started - self._ended < QUIET_S

    def when_quiet(self, then: Callable[[], None]) -> None:
        """Call ``then`` under the lock once no write has started for `QUIET_S` (the caller
        holds the lock; a pending timer is kept)."""
        if self._timer is not None or self._cancelled.is_set():
            return

        def fire() -> None:
            with self._lock:
                self._timer = None
                if self._cancelled.is_set():
                    return
                if self._started > self._ended:  # a write is under way: it will schedule
                    return  # upkeep itself when it is applied
                if time.monotonic() - self._ended < QUIET_S:
                    self.when_quiet(then)
                else:
                    then()

        self._timer = threading.Timer(QUIET_S, fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
