"""`IndexSaver`: when an index is saved, and saving it with the seq it reflects.

Small indexes are saved after every write. Big ones at most every `SAVE_INTERVAL_S`, and never
spending more than a tenth of the time saving: a 1.5 GB index takes seconds to write, and the
store replays whatever an unsaved index misses when it is reopened.
"""

from __future__ import annotations

import time
from pathlib import Path

from latentsearch.index import VectorIndex

# Indexes up to this size are saved after every write; larger ones every SAVE_INTERVAL_S.
SAVE_EAGERLY_BYTES = 64 << 20
SAVE_INTERVAL_S = 30.0


class IndexSaver:
    """Saves one index file in ``folder`` (nothing at all when ``read_only``)."""

    def __init__(self, folder: Path, file: str, *, read_only: bool) -> None:
        self.folder, self.file, self.read_only = folder, file, read_only
        self._last = 0.0
        self._cost = 0.0

    def due(self, index: VectorIndex, dim: int) -> bool:
        """True when a save after this write is due (see the module doc)."""
        big = index.ntotal * dim * 4 > SAVE_EAGERLY_BYTES
        return not big or time.monotonic() - self._last > max(SAVE_INTERVAL_S, 10 * self._cost)

    def write(self, index: VectorIndex, checkpoint: int) -> None:
        """Save ``index`` as of ``checkpoint``, atomically (a read-only folder: nothing)."""
        if self.read_only:
            return
        t = time.monotonic()
        try:
            if index.vectors is not None:  # its rows first: the index file commits them
                index.vectors.mark(checkpoint)
            index.save(self.folder, self.file, checkpoint)
        finally:  # a failed save of a big index is not retried on every write either
            self._last = time.monotonic()
            self._cost = self._last - t
