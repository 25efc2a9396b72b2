"""Consistent snapshots of the store, taken online while writers run, and their restore.

SQLite: the sqlite3 online backup API, in one step, so the copy is one read transaction (under
WAL, writers carry on meanwhile). PostgreSQL: ``pg_dump --format=custom --data-only`` of the
latentsearch tables of one schema, run on a snapshot exported from a REPEATABLE READ
transaction, so the per-collection figures recorded with it describe exactly what was dumped.
The restore creates the schema through latentsearch's own migrations, then loads the data with
``pg_restore`` and ``psql`` into whatever schema the target URL names. Tables that triggers
derive from ``ls_items`` (keyword index, metadata values) are not dumped: the triggers rebuild
them as the rows load.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, literal, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from latentsearch.errors import BackupError
from latentsearch.store.models import Base, CollectionRow, ItemPrincipalRow, ItemRow

# Filled by triggers on ls_items inside every writing transaction (migrations 0004 and 0006).
DERIVED_TABLES = frozenset({"ls_keyword", "ls_item_values"})
PG_TOOLS = ("pg_dump", "pg_restore", "psql")


@dataclass(frozen=True, slots=True)
class CollectionState:
    """What a snapshot holds for one collection: enough to check a restore against."""

    id: int
    seq: int
    count: int
    digest: str  # sha256 over (id, content hash, ACL) of every item, in id order

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "seq": self.seq, "count": self.count, "digest": self.digest}


def collection_states(s: Session) -> dict[str, CollectionState]:
    """Per collection: id, write seq, item count and a digest of content hashes and ACLs."""
    out = {}
    for cid, name, seq in s.execute(
        select(CollectionRow.id, CollectionRow.name, CollectionRow.seq).order_by(CollectionRow.id)
    ):
        acl: dict[int, list[str]] = {}
        for item_id, principal in s.execute(
            select(ItemPrincipalRow.item_id, ItemPrincipalRow.principal)
            .join(ItemRow, ItemRow.id == ItemPrincipalRow.item_id)
            .where(ItemRow.collection_id == cid)
        ):
            acl.setdefault(item_id, []).append(principal)
        h = hashlib.sha256()
        n = 0
        rows = s.execute(
            select(ItemRow.id, ItemRow.external_id, ItemRow.content_hash)
            .where(ItemRow.collection_id == cid)
            .order_by(ItemRow.id)
        )
        for item_id, ext, chash in rows:
            principals = "\x1f".join(sorted(acl.get(item_id, [])))
            h.update(f"{item_id}\x1e{ext}\x1e{chash}\x1e{principals}\n".encode())
            n += 1
        out[name] = CollectionState(int(cid), int(seq or 0), n, h.hexdigest())
    return out


def relocate(s: Session, old: str, new: str) -> int:
    """Point items whose ``content_ref`` starts with ``old`` at ``new`` instead (a restored
    folder's uploaded images). No trigger watches this column, and no digest covers it."""
    n = len(old)
    result = s.execute(
        update(ItemRow)
        .where(func.substr(ItemRow.content_ref, 1, n) == old)
        .values(content_ref=literal(new) + func.substr(ItemRow.content_ref, n + 1))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def alembic_revision(s: Session) -> str | None:
    try:
        revision: str | None = s.scalar(text("SELECT version_num FROM alembic_version"))
        return revision
    except Exception:
        s.rollback()
        return None


# -- SQLite -------------------------------------------------------------------------------
def sqlite_snapshot(source: Path, dest: Path) -> tuple[dict[str, CollectionState], str | None]:
    """Copy the live SQLite database at ``source`` to ``dest`` (one consistent read); return
    the states of its collections and its Alembic revision, read from the copy itself."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(dest)
    try:
        src.execute("PRAGMA busy_timeout=60000")
        # pages=-1 copies everything in one step under one read lock: a multi-step backup
        # restarts whenever another connection writes, and may never finish under steady writes.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the SQLite database {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()
    engine = create_engine(f"sqlite:///{dest}")
    try:
        with Session(engine) as s:
            return collection_states(s), alembic_revision(s)
    finally:
        engine.dispose()


# -- PostgreSQL ---------------------------------------------------------------------------
def pg_schema(url: str | URL) -> str | None:
    """The first schema of the URL's ``options=-c search_path=...``, or None (the server's)."""
    opts = make_url(url).query.get("options")
    for opt in [opts] if isinstance(opts, str) else list(opts or ()):
        m = re.search(r"-c\s*search_path\s*=\s*([^\s,]+)", opt)
        if m:
            return m.group(1).strip('"')
    return None


def libpq_env(url: str | URL) -> dict[str, str]:
    """The environment that points pg_dump, pg_restore and psql at the URL's database
    (the password goes in PGPASSWORD, never on a command line)."""
    u = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    pairs = {
        "PGHOST": u.host,
        "PGPORT": str(u.port) if u.port else None,
        "PGUSER": u.username,
        "PGPASSWORD": u.password,
        "PGDATABASE": u.database,
    }
    env.update({k: v for k, v in pairs.items() if v})
    for key, var in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        if isinstance(u.query.get(key), str):
            env[var] = str(u.query[key])
    return env


def check_pg_tools() -> None:
    missing = [t for t in PG_TOOLS if shutil.which(t) is None]
    if missing:
        raise BackupError(
            f"{', '.join(missing)} not found: PostgreSQL backups need the PostgreSQL client "
            "programs of the server's major version (Debian: apt-get install postgresql-client-15)"
        )


def _run(cmd: list[str], env: dict[str, str], stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(f"{cmd[0]} failed: {' / '.join(msg[-3:]) or proc.returncode}")
    return proc.stdout


def _pg_tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables if t.name not in DERIVED_TABLES]


def pg_snapshot(engine: Engine, dest: Path) -> tuple[dict[str, CollectionState], str, str | None]:
    """``pg_dump`` the latentsearch tables to ``dest``; return the collection states (read in
    the same snapshot as the dump), the schema and the Alembic revision."""
    check_pg_tools()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            schema = conn.scalar(text("SELECT current_schema()"))
            if schema is None:
                raise BackupError("the database URL's search_path names no existing schema")
            s = Session(bind=conn)
            states = collection_states(s)
            revision = alembic_revision(s)
            cmd = ["pg_dump", "--format=custom", "--data-only", "--no-owner", "--no-privileges"]
            cmd += [f"--snapshot={snapshot}", f"--file={dest}"]
            for t in _pg_tables():
                cmd += ["--table", f"{quote_ident(schema)}.{quote_ident(t)}"]
            # The snapshot stays valid while this transaction is open, i.e. during the dump.
            _run(cmd, libpq_env(engine.url))
    return states, str(schema), revision


def pg_is_empty(engine: Engine) -> bool:
    """True when the database has no latentsearch collections or API keys in its schema."""
    with engine.connect() as conn:
        for table in ("ls_collections", "ls_api_keys"):
            exists = conn.scalar(text("SELECT to_regclass(:t)"), {"t": table})
            if exists and conn.scalar(text(f"SELECT count(*) FROM {table}")):
                return False
    return True


def pg_load(engine: Engine, dump: Path, source_schema: str, *, clear: bool = False) -> None:
    """Load a data-only dump into the engine's schema (already migrated), in one transaction:
    ``pg_restore`` writes the SQL, its schema names are mapped to the target's. ``clear``
    first deletes every latentsearch row there, in the same transaction (all or nothing)."""
    check_pg_tools()
    with engine.connect() as conn:
        target = conn.scalar(text("SELECT current_schema()"))
    if target is None:
        raise BackupError("the target database URL's search_path names no existing schema")
    sql = _run(
        ["pg_restore", "--data-only", "--no-owner", "--file=-", str(dump)], os.environ.copy()
    )
    script = _map_schema(sql, source_schema, str(target))
    if clear:
        tables = ", ".join(f"{quote_ident(str(target))}.{quote_ident(t)}" for t in _pg_tables())
        script = f"TRUNCATE {tables} RESTART IDENTITY CASCADE;\n".encode() + script
    cmd = ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1"]
    _run([*cmd, "--file=-"], libpq_env(engine.url), stdin=script)


def _map_schema(sql: bytes, source: str, target: str) -> bytes:
    """Rename ``source.`` to ``target.`` in the script's statements, never in COPY data."""
    old, new = f"{quote_ident(source)}.".encode(), f"{quote_ident(target)}.".encode()
    out, in_copy = [], False
    for line in sql.split(b"\n"):
        if in_copy:
            in_copy = line != b"\\."
        elif line.startswith((b"COPY ", b"SELECT pg_catalog.setval(")):
            in_copy = line.startswith(b"COPY ")
            line = line.replace(old, new, 1)
        out.append(line)
    return b"\n".join(out)


def quote_ident(name: str) -> str:
    """A SQL identifier as pg_dump writes it: bare when it can be, else double-quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'
