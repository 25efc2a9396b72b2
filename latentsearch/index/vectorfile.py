"""`VectorFile`: float16 copies of a collection's vectors on disk, one row per item id.

Indexes with lossy in-memory codes (RaBitQ, PQ, binary) rescore their top candidates exactly
from this file (`refine`). Row ``i`` holds the vector of the item whose SQL primary key is ``i``,
so no id map is needed: keys are never reused, and a row, once written, never changes (an
upsert with new content gets a new key). Rows of deleted items stay; no search returns them.

The file is derived data, like the index: ``name.vectors.json`` records the store seq it
reflects, and the keeper rebuilds the file from the store when it is missing, behind, of the
wrong size, or fails a spot check against stored vectors (`matches`).

Rows are read and written with ``pread`` / ``pwrite``, never through a memory map: mapped pages
of a file count in the process's resident set (and the kernel maps neighbouring pages around
every fault), so a map of a 7.7 GB file would inflate the peak RSS that a memory budget bounds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from latentsearch.errors import IndexBuildError

log = logging.getLogger(__name__)

FORMAT = 1
DTYPE = np.dtype("<f2")


class VectorFile:
    """The float16 vector file ``folder/name.vectors.f16`` of ``dim``-d rows (see the module)."""

    def __init__(self, folder: Path, name: str, dim: int) -> None:
        self.folder, self.name, self.dim = folder, name, dim
        self.path = folder / f"{name}.vectors.f16"
        self.meta_path = folder / f"{name}.vectors.json"
        self.row_bytes = dim * DTYPE.itemsize
        self._fd: int | None = None

    # -- state ---------------------------------------------------------------------------
    def _open(self) -> int:
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd

    @property
    def rows(self) -> int:
        """Rows the file can hold now (the highest id written + 1, at most)."""
        try:
            return os.stat(self.path).st_size // self.row_bytes
        except FileNotFoundError:
            return 0

    def checkpoint(self) -> int | None:
        """The store seq the file reflects (None: unknown, so it must be rebuilt)."""
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        if (
            not isinstance(meta, dict)
            or meta.get("format") != FORMAT
            or meta.get("dim") != self.dim
        ):
            return None
        try:
            if os.path.getsize(self.path) % self.row_bytes:
                return None  # a torn write
        except OSError:
            return None
        seq = meta.get("checkpoint")
        return int(seq) if isinstance(seq, int) else None

    def mark(self, checkpoint: int) -> None:
        """Make the rows durable and record that they reflect the store at ``checkpoint``."""
        if self._fd is not None:
            os.fsync(self._fd)
        tmp = self.meta_path.with_name(self.meta_path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "dim": self.dim, "checkpoint": checkpoint}))
        os.replace(tmp, self.meta_path)

    def invalidate(self) -> None:
        """Forget the checkpoint (before a rewrite: a crash midway leaves a file to rebuild)."""
        self.meta_path.unlink(missing_ok=True)

    def reset(self) -> None:
        """Empty the file and forget its checkpoint (before rebuilding it from the store)."""
        self.invalidate()
        os.ftruncate(self._open(), 0)

    # -- rows ----------------------------------------------------------------------------
    def write(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Write the rows of ``ids`` (one ``pwrite`` per run of consecutive ids)."""
        if len(ids) == 0:
            return
        ids = np.asarray(ids, dtype=np.int64)
        if ids.min() < 0:
            raise IndexBuildError("vector file rows are item ids, which are never negative")
        order = np.argsort(ids, kind="stable")
        ids, rows = ids[order], np.ascontiguousarray(vectors[order], dtype=DTYPE)
        fd = self._open()
        breaks = np.flatnonzero(np.diff(ids) != 1) + 1
        for lo, hi in zip([0, *breaks.tolist()], [*breaks.tolist(), len(ids)], strict=True):
            os.pwrite(fd, rows[lo:hi].tobytes(), int(ids[lo]) * self.row_bytes)

    def read(self, ids: np.ndarray) -> np.ndarray:
        """float32 rows of ``ids`` in the given order (-1 and ids past the end read as zeros)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        out = np.zeros((len(ids), self.dim), dtype=DTYPE)
        fd, size = self._open(), self.row_bytes
        rows = self.rows
        buf = out.view(np.uint8).reshape(len(ids), size)
        for pos in np.flatnonzero((ids >= 0) & (ids < rows)).tolist():
            got = os.pread(fd, size, int(ids[pos]) * size)
            buf[pos, : len(got)] = np.frombuffer(got, dtype=np.uint8)
        return out.astype(np.float32)

    def matches(self, ids: np.ndarray, vectors: np.ndarray) -> bool:
        """True when the rows of ``ids`` hold ``vectors`` (as float16): a spot check."""
        if len(ids) == 0:
            return True
        if int(np.max(ids)) >= self.rows:
            return False
        want = np.asarray(vectors, dtype=np.float32).astype(DTYPE).astype(np.float32)
        return bool(np.array_equal(self.read(ids), want))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def drop(self) -> None:
        """Delete the file and its meta file."""
        self.close()
        self.meta_path.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            self.close()
