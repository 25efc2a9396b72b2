"""Query embeddings kept on disk, for processes that live for one query (the command line).

The in-memory LRU (`latentsearch.encoders.cache`) dies with its process, so every
``latentsearch search "..."`` would load the model (seconds) to embed a query it has embedded
before. `QueryVectorFile` keeps those vectors in a small SQLite file beside the index:

* **exact**: an entry is the float32 bytes the encoder returned, keyed by the encoder's *space
  key* (model fingerprint, backend, device, normalisation: everything that decides those bytes)
  and the text, and checked against a digest when read: a hit is the vector the model would give;
* **bounded**: at most ``maxsize`` entries, the least recently used dropped first;
* **atomic**: each write is one SQLite transaction, so a reader sees an entry whole or not at all;
* **best effort**: a read-only folder, a busy, damaged or foreign file is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILE_NAME = "query-vectors.sqlite"
DEFAULT_MAX_ENTRIES = 4096  # 384-d float32: about 1.6 KiB each, so a few MiB at most
_BUSY_S = 0.2  # a writer holding the file longer than this costs a miss, not a wait
_SCHEMA = """
CREATE TABLE IF NOT EXISTS query_vectors (
    key BLOB PRIMARY KEY,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    digest BLOB NOT NULL,
    used INTEGER NOT NULL
)
"""


def _key(space: str, text: str) -> bytes:
    data = f"{space}\0{text}".encode("utf-8", "surrogatepass")  # any str, lone surrogates too
    return hashlib.sha256(data).digest()


def _digest(key: bytes, dim: int, vector: bytes) -> bytes:
    return hashlib.blake2b(key + dim.to_bytes(4, "little") + vector, digest_size=16).digest()


class QueryVectorFile:
    """Vectors by (space key, text) in ``folder/query-vectors.sqlite``.

    ``writable=False`` only reads (an index opened read-only).
    """

    def __init__(
        self, folder: Path, *, maxsize: int = DEFAULT_MAX_ENTRIES, writable: bool = True
    ) -> None:
        self.path = Path(folder) / FILE_NAME
        self.maxsize = maxsize
        self.writable = writable

    def get(self, space: str, text: str, dim: int) -> np.ndarray | None:
        """The stored ``(dim,)`` float32 vector (a private copy), or None."""
        if not self.path.is_file():
            return None
        key = _key(space, text)
        try:
            with self._connect(read_only=not self.writable) as conn:
                row = conn.execute(
                    "SELECT dim, vector, digest FROM query_vectors WHERE key = ?", (key,)
                ).fetchone()
                if row is None:
                    return None
                stored_dim, blob, digest = row
                if stored_dim != dim or len(blob) != 4 * dim or _digest(key, dim, blob) != digest:
                    log.warning("ignoring a damaged entry in %s", self.path)
                    return None
                if self.writable:
                    conn.execute(
                        "UPDATE query_vectors SET used = ? WHERE key = ?", (time.time_ns(), key)
                    )
        except sqlite3.Error as exc:
            log.debug("query vector file %s not read: %s", self.path, exc)
            return None
        return np.frombuffer(blob, dtype=np.float32).copy()

    def put(self, space: str, text: str, vector: np.ndarray) -> None:
        """Store ``vector`` (converted to float32) for ``text``; drop the oldest beyond the bound."""
        if not self.writable or self.maxsize <= 0:
            return
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        key, blob = _key(space, text), vec.tobytes()
        try:
            with self._connect(read_only=False) as conn:
                conn.execute(_SCHEMA)
                conn.execute(
                    "INSERT OR REPLACE INTO query_vectors VALUES (?, ?, ?, ?, ?)",
                    (key, vec.size, blob, _digest(key, vec.size, blob), time.time_ns()),
                )
                (count,) = conn.execute("SELECT count(*) FROM query_vectors").fetchone()
                if count > self.maxsize:
                    conn.execute(
                        "DELETE FROM query_vectors WHERE key IN "
                        "(SELECT key FROM query_vectors ORDER BY used LIMIT ?)",
                        (count - self.maxsize,),
                    )
        except sqlite3.Error as exc:
            log.debug("query vector file %s not written: %s", self.path, exc)

    @contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[sqlite3.Connection]:
        """One transaction (committed, or rolled back on error), then the connection closed."""
        if read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_S)
        else:
            conn = sqlite3.connect(self.path, timeout=_BUSY_S)
        try:
            if not read_only:
                # A cache: no fsync per query. A torn entry after a power cut fails its digest.
                conn.execute("PRAGMA synchronous=OFF")
            with conn:
                yield conn
        finally:
            conn.close()
