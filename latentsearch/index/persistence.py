"""Index files: atomic save, load (read or memory-mapped), and delete.

An index ``name`` is saved as ``name.json`` (the commit point) naming a fresh data file
``name.<generation>.faiss``; each is written as a temp file, synced and renamed into place, so a
crash leaves the previous index or the new one, never half of one (`files` removes the leftovers).
This module knows files and FAISS's serialisation, not `VectorIndex`: it stores and returns
the FAISS index and a dict of the fields that `VectorIndex` puts in its meta file.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from latentsearch.index.files import data_files, prune, vector_files
from latentsearch.index.primitives import faiss

log = logging.getLogger(__name__)

FORMAT = 1
# Index files at least this large are memory-mapped on load unless told otherwise.
MMAP_BYTES = 1 << 30


class MappedFile:
    """The file a memory-mapped index was loaded from, kept open until the index is read in.

    FAISS maps IVF lists read-only (writing to them aborts the process), so the first change
    reads the whole index into memory (`read_in`). It reads through the file object opened at
    load time, so a newer save that has replaced the file meanwhile does not matter. (This used
    to reopen ``/proc/self/fd/<fd>``, which exists on Linux only; a FAISS reader over the open
    file object does the same on every system.)
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh

    def read_in(self) -> Any:
        """The whole index, read into memory; the file is closed afterwards."""
        try:
            self._fh.seek(0)
            return faiss.read_index(faiss.PyCallbackIOReader(self._fh.read))
        finally:
            self._fh.close()

    def close(self) -> None:
        self._fh.close()


@dataclass(slots=True)
class Loaded:
    """What `load` read: the FAISS index, the meta fields, and the open file when mapped."""

    index: Any
    meta: dict[str, Any]
    mapped: MappedFile | None


def save(folder: Path, name: str, index: Any, fields: dict[str, Any]) -> str:
    """Write ``index`` as a new data file, then the meta file naming it (the commit point), then
    remove the data file the previous meta named. Returns the new data file's name."""
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / f"{name}.json"
    old = read_meta(meta_path)
    data_name = f"{name}.{uuid.uuid4().hex[:12]}.faiss"
    _write_atomic(folder / data_name, lambda p: faiss.write_index(index, str(p)))
    meta = {"format": FORMAT, "file": data_name, **fields}
    _write_atomic(meta_path, lambda p: p.write_text(json.dumps(meta)))
    if old and old.get("file") != data_name:
        (folder / old["file"]).unlink(missing_ok=True)
    prune(folder, name, keep=data_name)  # e.g. the file of a meta that was unreadable
    return data_name


def load(
    folder: Path,
    name: str,
    expect: dict[str, Any],
    *,
    mmap: bool | None = None,
    clean: bool = True,
) -> Loaded | None:
    """The saved index ``name``, or None when it is missing, damaged or its meta does not match
    ``expect`` (e.g. ``dim``, ``spec``, ``metric``: the caller's configuration changed).

    ``mmap``: map the file instead of reading it (``IO_FLAG_MMAP``): pages load on demand and
    processes share them; None maps files of at least `MMAP_BYTES`. ``clean``: remove this
    index's orphan files (`files.prune`).
    """
    meta = read_meta(folder / f"{name}.json")
    wanted = {"format": FORMAT, **expect}
    if not meta or any(meta.get(key) != value for key, value in wanted.items()):
        return None
    path = folder / meta["file"]
    try:
        if mmap is None:
            mmap = path.stat().st_size >= MMAP_BYTES
        mapped = MappedFile(open(path, "rb")) if mmap else None  # noqa: SIM115 (kept open)
    except OSError as exc:
        log.warning("index file for %s is unreadable (%s); it will be rebuilt", name, exc)
        return None
    try:
        stored = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mmap else 0)
    except (RuntimeError, OSError) as exc:
        if mapped is not None:
            mapped.close()
        log.warning("index file for %s is unreadable (%s); it will be rebuilt", name, exc)
        return None
    if mmap:
        log.info("memory-mapped the index of %s (%s)", name, path.name)
    if clean:
        prune(folder, name, keep=meta["file"])
    return Loaded(stored, meta, mapped)


def drop(folder: Path, name: str) -> None:
    """Delete every file of the index ``name`` (meta first, so a crash leaves no live index)."""
    (folder / f"{name}.json").unlink(missing_ok=True)
    for p in [*data_files(folder, name), *vector_files(folder, name)]:
        p.unlink(missing_ok=True)


def read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
