"""`backup()` and `restore()`: one archive file holding a consistent online snapshot of an index.

The store is the source of truth; the FAISS files are derived from it and may lag it (each
records the write seq it reflects, and opening replays what it misses). So a backup copies the
index files first, then takes the store's snapshot (SQLite's backup API, or ``pg_dump`` on
PostgreSQL: see `latentsearch.store.snapshot`), then the uploaded images. Every index file then
reflects a seq at or before the snapshot's, and the restored collection replays the rest.

The archive is a tar: ``manifest.json`` (format version, time, dialect, per collection its
write seq, item count and a digest of ids, content hashes and ACLs, and every file's sha256),
``store/`` (the database), ``index/`` (FAISS files) and ``uploads/``. `restore` unpacks it
into an empty target, opens every collection and checks counts, digests, and that the index
holds exactly the store's items. Both write to a temporary name and rename at the end, so a
failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from latentsearch.errors import BackupError
from latentsearch.store import snapshot as snap
from latentsearch.store.engine import SQLITE_FILE, make_engine

FORMAT = "latentsearch-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "store/latentsearch.db"
PG_MEMBER = "store/postgresql.dump"
_COPY_TRIES = 20

# (phase, done, total): phases are "index", "store", "uploads", "archive", "extract", "verify".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    dialect: str
    created: str
    collections: dict[str, dict[str, Any]]
    files: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "dialect": self.dialect,
            "created": self.created,
            "collections": self.collections,
            "files": self.files,
            "bytes": self.bytes,
        }


@dataclass(frozen=True, slots=True)
class RestoreReport:
    index: Path
    dialect: str
    created: str  # when the backup was taken
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.collections.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": str(self.index),
            "dialect": self.dialect,
            "backup_created": self.created,
            "ok": self.ok,
            "collections": self.collections,
        }


def no_progress(_phase: str, _done: int, _total: int) -> None:
    """The `Progress` callback used when the caller gives none (backup and restore)."""


@contextlib.contextmanager
def failures(what: str) -> Iterator[None]:
    """Disk and database errors as `BackupError` (latentsearch's own errors pass unchanged)."""
    try:
        yield
    except (OSError, SQLAlchemyError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise BackupError(f"{what} failed: {detail}") from exc


def dialect_of(database: str | None) -> str:
    """``"sqlite"`` or ``"postgresql"`` for a database URL (None: the index's SQLite file)."""
    if database is None:
        return "sqlite"
    try:
        name = make_url(database).get_backend_name()
    except Exception as exc:
        raise BackupError(f"cannot parse database URL {database!r}: {exc}") from exc
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name!r}")
    return name


def sqlite_path(index: Path, database: str | None) -> Path:
    """The SQLite file of an index: the one in its folder, or the one ``database`` names."""
    if database is None:
        return index / SQLITE_FILE
    path = make_url(database).database
    if not path:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(path).resolve()


# -- backup -------------------------------------------------------------------------------
def backup(
    index: str | Path,
    out: str | Path,
    *,
    database: str | None = None,
    progress: Progress | None = None,
) -> BackupReport:
    """Write a consistent snapshot of the index folder and its store to the archive ``out``,
    while other processes keep writing. Raises `BackupError` (and leaves no file) on failure."""
    report = progress or no_progress
    folder = Path(index).expanduser().resolve()
    target = Path(out).expanduser().resolve()
    dialect = dialect_of(database)
    if not folder.is_dir():
        raise BackupError(f"no index folder at {folder}")
    if not target.parent.is_dir():
        raise BackupError(f"the folder of {target} does not exist")
    with failures("backup"):
        return _backup(folder, target, database, dialect, report)


def _backup(
    folder: Path, target: Path, database: str | None, dialect: str, report: Progress
) -> BackupReport:
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        (work / "index").mkdir()
        (work / "store").mkdir()
        checkpoints = _copy_index_files(folder, work / "index", report)  # before the store
        report("store", 0, 1)
        schema = None
        if dialect == "sqlite":
            source = sqlite_path(folder, database)
            if not source.is_file():
                raise BackupError(f"no index at {folder} (no {source.name})")
            states, revision = snap.sqlite_snapshot(source, work / SQLITE_MEMBER)
        else:
            engine = make_engine(str(database))
            try:
                states, schema, revision = snap.pg_snapshot(engine, work / PG_MEMBER)
            finally:
                engine.dispose()
        report("store", 1, 1)
        _copy_tree(folder / "uploads", work / "uploads", report)  # after: every referenced image
        collections: dict[str, dict[str, Any]] = {}
        for name, st in states.items():
            cp = checkpoints.get(st.id)
            if cp is not None and cp[1] > st.seq:  # cannot happen in this order; never restore it
                for f in cp[0]:
                    (work / "index" / f).unlink()
                cp = None
            collections[name] = {**st.to_dict(), "index_checkpoint": cp[1] if cp else None}
        created = datetime.now(UTC).isoformat()
        files = {
            p.relative_to(work).as_posix(): _file_info(p)
            for p in sorted(work.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created": created,
            "dialect": dialect,
            "schema": schema,
            "alembic_revision": revision,
            "source_index": str(folder),
            "collections": collections,
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        size = _write_archive(work, [MANIFEST, *files], target, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupReport(target, dialect, created, collections, len(files), size)


def _copy_index_files(
    folder: Path, dest: Path, report: Progress
) -> dict[int, tuple[list[str], int]]:
    """Copy each collection's saved index (meta file + the data file it names). A save in
    another process may replace the data file meanwhile: then read the meta again."""
    metas = sorted(folder.glob("collection-*.json"))
    out: dict[int, tuple[list[str], int]] = {}
    for n, meta_path in enumerate(metas):
        report("index", n, len(metas))
        try:
            cid = int(meta_path.stem.removeprefix("collection-"))
        except ValueError:
            continue
        for _ in range(_COPY_TRIES):
            try:
                raw = meta_path.read_bytes()
                meta = json.loads(raw)
                data = folder / str(meta["file"])
                # Once open, a concurrent unlink of the data file cannot hurt the copy.
                with open(data, "rb") as src, open(dest / data.name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except FileNotFoundError:
                continue  # the meta was replaced and its old data file removed: read it again
            except (ValueError, KeyError, TypeError):
                break  # a damaged meta file: restore rebuilds this index from the store
            (dest / meta_path.name).write_bytes(raw)
            out[cid] = ([meta_path.name, data.name], int(meta.get("checkpoint", 0)))
            break
    report("index", len(metas), len(metas))
    return out


def _copy_tree(src: Path, dest: Path, report: Progress) -> None:
    files = [p for p in sorted(src.rglob("*")) if p.is_file()] if src.is_dir() else []
    for n, p in enumerate(files):
        report("uploads", n, len(files))
        target = dest / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
            shutil.copyfile(p, target)
    report("uploads", len(files), len(files))


def _file_info(path: Path) -> dict[str, Any]:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def _write_archive(work: Path, names: list[str], target: Path, report: Progress) -> int:
    total = sum((work / n).stat().st_size for n in names)
    mode = "w:gz" if target.name.endswith((".gz", ".tgz")) else "w"
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode=mode) as tar:  # type: ignore[call-overload]
                done = 0
                for n in names:
                    tar.add(work / n, arcname=n, recursive=False)
                    done += (work / n).stat().st_size
                    report("archive", done, total)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target.stat().st_size
