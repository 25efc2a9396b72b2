"""The index files in an index folder: their names, and removing the ones nothing uses.

An index ``name`` (``collection-<id>``, from `index_name`) is saved as ``name.json`` (the commit
point) naming one data file ``name.<generation>.faiss``; each is first written as
``<file>.<pid>.tmp`` and renamed into place. A crash (SIGKILL, power loss) can leave behind temp
files, data files no meta file names, and every file of a collection whose row is gone.

Several processes may share a folder, so removal follows one rule (`sweep`, `prune`):

* a data file that its meta file does not name goes once it is older than `ORPHAN_AGE_S`
  (another process writes the data file a moment before the meta file that names it);
* a temp file goes once it is older than `STALE_TMP_S` if the process that wrote it (the pid in
  its name) is gone from this machine, or older than `ABANDONED_TMP_S` whatever its pid (a
  writer rewrites its temp file continuously, so a file that old is abandoned; this also covers
  folders shared between machines, where a pid says nothing);
* every file of an index that belongs to no collection goes at the same ages.

The live meta file and the data file it names are never removed here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "collection-"
ORPHAN_AGE_S = 60.0
STALE_TMP_S = 60.0
ABANDONED_TMP_S = 600.0
# collection-<id>.json | collection-<id>.<gen>.faiss | collection-<id>.vectors.{f16,json}
# (the float16 vector file of refined indexes, `vectorfile`), each optionally .<pid>.tmp
_FILE = re.compile(
    rf"^(?P<name>{PREFIX}(?P<id>\d+))\.(?:json|[0-9a-f]+\.faiss|vectors\.f16|vectors\.json)"
    r"(?:\.(?P<pid>\d+)\.tmp)?$"
)


def index_name(collection_id: int) -> str:
    """The name of a collection's index files (the single place this name is built)."""
    return f"{PREFIX}{int(collection_id)}"


def sweep(folder: Path, live_ids: Iterable[int], *, now: float | None = None) -> list[Path]:
    """Remove index files in ``folder`` that belong to no live collection, unreferenced data
    files and stale temp files (see the module's rule). Returns what was removed."""
    live = set(live_ids)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    names = {m.group("name") for p in entries if (m := _FILE.match(p.name))}
    for name in names:
        cid = int(name.removeprefix(PREFIX))
        dead = cid not in live
        keep = None if dead else _live_file(folder, name)
        removed += prune(folder, name, keep, now=now, dead=dead)
    if removed:
        log.info("removed %d orphan index file(s) from %s", len(removed), folder)
    return removed


def data_files(folder: Path, name: str) -> list[Path]:
    """The data and temporary files of index ``name`` (every file but its meta file)."""
    return [*folder.glob(f"{name}.*.faiss"), *folder.glob(f"{name}.*.tmp")]


def vector_files(folder: Path, name: str) -> list[Path]:
    """The float16 vector file of index ``name`` and its meta file (`vectorfile`)."""
    return [folder / f"{name}.vectors.f16", folder / f"{name}.vectors.json"]


def disk_bytes(folder: Path, name: str) -> int:
    """Bytes on disk of every file of index ``name``, its meta file included (0 before a save)."""
    files = [*data_files(folder, name), folder / f"{name}.json", *vector_files(folder, name)]
    return sum(p.stat().st_size for p in files if p.is_file())


def prune(
    folder: Path,
    name: str,
    keep: str | None,
    *,
    now: float | None = None,
    dead: bool = False,
) -> list[Path]:
    """Remove the files of index ``name`` that are not ``keep`` (the data file its meta names)
    and are old enough; with ``dead`` (no such collection), its meta file too."""
    now = time.time() if now is None else now
    removed = []
    candidates = data_files(folder, name)
    if dead:
        candidates += [folder / f"{name}.json", *vector_files(folder, name)]
    for p in candidates:
        m = _FILE.match(p.name)
        if m is None or m.group("name") != name or p.name == keep:
            continue
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            if _removable(p, m.group("pid"), now - p.stat().st_mtime):
                p.unlink()
                removed.append(p)
    return removed


def _removable(path: Path, pid: str | None, age: float) -> bool:
    if pid is None:
        return age > ORPHAN_AGE_S
    return age > ABANDONED_TMP_S or (age > STALE_TMP_S and not _alive(int(pid)))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _live_file(folder: Path, name: str) -> str | None:
    """The data file the meta file of ``name`` names (None when missing or unreadable: then
    every data file of ``name`` is unreferenced, and the index is rebuilt from the store)."""
    try:
        meta = json.loads((folder / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    file = meta.get("file") if isinstance(meta, dict) else None
    return file if isinstance(file, str) else None
