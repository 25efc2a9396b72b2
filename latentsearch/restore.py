"""`restore()`: unpack a `latentsearch.backup` archive into an empty target and verify it.

The archive is unpacked into a staging folder beside the target (every file checked against
the manifest's sha256), the store is loaded (SQLite: the copied file; PostgreSQL: the schema is
created by latentsearch's migrations and the dump loaded in one transaction), and only then is
the staging folder renamed into place. Afterwards every collection is opened (its index replays
what it lagged) and checked: item count, the digest of ids, content hashes and ACLs, write seq,
and `Collection.verify()` (the index holds exactly the store's items).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from latentsearch.backup import (
    FORMAT,
    MANIFEST,
    PG_MEMBER,
    SQLITE_MEMBER,
    VERSION,
    Progress,
    RestoreReport,
    dialect_of,
    failures,
    no_progress,
    sqlite_path,
)
from latentsearch.db import connect
from latentsearch.errors import BackupError
from latentsearch.store import snapshot as snap
from latentsearch.store.engine import SQLITE_FILE, make_engine, migrate

# Members an archive may hold: anything else (absolute paths, "..", links) is refused.
_MEMBER = re.compile(
    r"^(store/[a-z.]+|index/collection-\d+(\.[0-9a-f]+\.faiss|\.json)|uploads/[^/]+)$"
)


def restore(
    archive: str | Path,
    index: str | Path,
    *,
    database: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore ``archive`` into the index folder ``index`` (and ``database`` for PostgreSQL),
    which must be empty unless ``force``; then verify it. Raises `BackupError` when the archive
    is damaged, the target is not empty, or the verification fails."""
    with failures("restore"):
        return _restore(archive, index, database, force, progress or no_progress)


def _restore(
    archive: str | Path, index: str | Path, database: str | None, force: bool, report: Progress
) -> RestoreReport:
    source = Path(archive).expanduser().resolve()
    folder = Path(index).expanduser().resolve()
    dialect = dialect_of(database)
    try:
        tar = tarfile.open(source)  # noqa: SIM115 - closed below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read the backup {source}: {exc}") from exc
    with tar:
        manifest = _manifest(tar, source)
        if manifest["dialect"] != dialect:
            raise BackupError(
                f"{source.name} is a {manifest['dialect']} backup; restore it into a "
                f"{manifest['dialect']} store (the target here is {dialect})"
            )
        _check_empty(folder, database, dialect, force)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = folder.with_name(f".{folder.name}.restore-{uuid.uuid4().hex[:12]}")
        staging.mkdir()  # (not mkdtemp: the restored folder gets the usual permissions)
        try:
            _extract(tar, manifest, staging, report)
            if dialect == "sqlite":
                db_file = staging / SQLITE_MEMBER
                if database is None:
                    os.replace(db_file, staging / SQLITE_FILE)
                else:
                    _place(db_file, sqlite_path(folder, database))
            else:
                _load_pg(str(database), staging / PG_MEMBER, manifest, force)
            shutil.rmtree(staging / "store")
            for f in (staging / "index").iterdir():
                os.replace(f, staging / f.name)
            (staging / "index").rmdir()
            _swap(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    result = verify(folder, manifest, database=database, progress=report)
    if not result.ok:
        bad = {n: c for n, c in result.collections.items() if not c["ok"]}
        raise BackupError(f"the restored index at {folder} does not match the backup: {bad}")
    return result


def verify(
    index: Path, manifest: dict[str, Any], *, database: str | None, progress: Progress = no_progress
) -> RestoreReport:
    """Open every collection of the restored index and compare it with the manifest (after
    pointing image items at the restored ``uploads/``)."""
    expected: dict[str, dict[str, Any]] = manifest["collections"]
    out: dict[str, dict[str, Any]] = {}
    with connect(index, database=database, device="cpu") as db:
        old = manifest.get("source_index")
        if old and Path(old) != index:  # items name uploaded images by their absolute path
            with db.store.transaction() as s:
                snap.relocate(s, f"{Path(old) / 'uploads'}/", f"{index / 'uploads'}/")
        with db.store.session() as s:
            states = snap.collection_states(s)
        for n, name in enumerate(sorted(set(expected) | set(states))):
            progress("verify", n, len(expected))
            want, got = expected.get(name), states.get(name)
            index_ok = got is not None and db.collection(name).verify()
            row = {
                "count": got.count if got else None,
                "expected_count": want["count"] if want else None,
                "seq": got.seq if got else None,
                "digest_ok": bool(want and got and want["digest"] == got.digest),
                "index_ok": index_ok,
            }
            row["ok"] = bool(
                want
                and got
                and row["digest_ok"]
                and index_ok
                and want["count"] == got.count
                and want["seq"] == got.seq
            )
            out[name] = row
        progress("verify", len(expected), len(expected))
    return RestoreReport(index, manifest["dialect"], manifest["created"], out)


def _manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    try:
        fh = tar.extractfile(MANIFEST)
        manifest = json.load(fh) if fh else None
    except (KeyError, ValueError, tarfile.TarError) as exc:
        raise BackupError(
            f"{source} is not a latentsearch backup (no readable {MANIFEST})"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is not a latentsearch backup")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{source} is a version {manifest.get('version')} backup; this latentsearch reads version {VERSION}"
        )
    files, cols = manifest.get("files"), manifest.get("collections")
    if not (
        isinstance(files, dict)
        and isinstance(cols, dict)
        and all(isinstance(f, dict) and {"size", "sha256"} <= f.keys() for f in files.values())
        and all(
            isinstance(c, dict) and {"count", "digest", "seq"} <= c.keys() for c in cols.values()
        )
        and manifest.get("dialect") in ("sqlite", "postgresql")
    ):
        raise BackupError(f"{source} has a damaged manifest")
    return manifest


def _check_empty(folder: Path, database: str | None, dialect: str, force: bool) -> None:
    if force:
        return
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not empty; restore into a new folder, or pass --force")
    if dialect == "sqlite" and database is not None and sqlite_path(folder, database).exists():
        raise BackupError(f"{sqlite_path(folder, database)} exists; pass --force to replace it")
    if dialect == "postgresql":
        engine = make_engine(str(database))
        try:
            if not snap.pg_is_empty(engine):
                raise BackupError(
                    "the target database already holds latentsearch collections or keys; "
                    "restore into an empty schema, or pass --force"
                )
        finally:
            engine.dispose()


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], dest: Path, report: Progress) -> None:
    files: dict[str, dict[str, Any]] = manifest["files"]
    total, done = sum(f["size"] for f in files.values()), 0
    seen = set()
    for member in tar:
        if member.name == MANIFEST:
            continue
        if not member.isfile() or not _MEMBER.match(member.name) or member.name not in files:
            raise BackupError(f"unexpected entry {member.name!r} in the backup; refusing it")
        target = dest / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        fh = tar.extractfile(member)
        assert fh is not None
        digest = _copy_hashing(fh, target)
        if digest != files[member.name]["sha256"]:
            raise BackupError(f"{member.name} in the backup is damaged (sha256 mismatch)")
        seen.add(member.name)
        done += member.size
        report("extract", done, total)
    if missing := set(files) - seen:
        raise BackupError(f"the backup is incomplete: {sorted(missing)[:5]} missing")
    (dest / "index").mkdir(exist_ok=True)
    (dest / "store").mkdir(exist_ok=True)


def _copy_hashing(src: IO[bytes], target: Path) -> str:
    h = hashlib.sha256()
    with open(target, "wb") as out:
        for block in iter(lambda: src.read(1 << 20), b""):
            h.update(block)
            out.write(block)
    return h.hexdigest()


def _load_pg(database: str, dump: Path, manifest: dict[str, Any], force: bool) -> None:
    engine = make_engine(database)
    try:
        schema = snap.pg_schema(database)
        if schema:  # restoring into a new schema: create it
            with engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {snap.quote_ident(schema)}"))
        migrate(engine)  # the schema comes from latentsearch's migrations; the dump is data only
        with Session(engine) as s:
            revision = snap.alembic_revision(s)
        if revision != manifest.get("alembic_revision"):
            raise BackupError(
                f"the backup has schema revision {manifest.get('alembic_revision')} and this "
                f"latentsearch {revision}; restore with the version that made the backup"
            )
        snap.pg_load(engine, dump, str(manifest["schema"]), clear=force)
    finally:
        engine.dispose()


def _place(src: Path, target: Path) -> None:
    """Move a restored SQLite file to an explicit path (a temp name, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore.tmp")
    shutil.copyfile(src, tmp)
    for suffix in ("-wal", "-shm"):  # a stale WAL would be replayed onto the restored file
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)


def _swap(staging: Path, folder: Path) -> None:
    """Put the staging folder at ``folder``; an old one (``--force``) goes only afterwards."""
    if folder.exists() and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
    os.replace(staging, folder)
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
