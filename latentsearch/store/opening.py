"""Opening the store: read-only mode, a schema check in place of migrations, and typed errors.

A read-only store is one this process may not write: its folder or SQLite file is not writable
(detected with ``os.access``), or the caller asked for ``read_only=True``. It is opened so that
the database itself refuses writes (SQLite ``mode=ro`` plus ``query_only``; PostgreSQL sessions
``READ ONLY``), migrations are not run (the schema version is checked instead), and a refused
write, like a damaged SQLite file, surfaces as a `latentsearch.errors` error, never a raw DBAPI
one (`translate_errors`).

A WAL-mode SQLite database opened read-only needs its ``-shm`` file: SQLite opens an existing
one read-only, or creates it (and ``-wal``) when it may write the folder. When neither is
possible (a read-only folder whose database was closed cleanly, so no ``-wal`` remains), the
file is opened ``immutable=1``: everything is in the main file then, but changes another
process makes while it is open are not seen until it is reopened.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from latentsearch.errors import IndexNotFoundError, ReadOnlyError, StoreError
from latentsearch.store.heads import at_head

log = logging.getLogger(__name__)

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_NOTADB = 8, 11, 26
# PostgreSQL SQLSTATEs: read_only_sql_transaction; data_corrupted, index_corrupted.
_PG_READ_ONLY = "25006"
_PG_CORRUPT = ("XX001", "XX002")


def writable(folder: Path, db_file: Path | None) -> str | None:
    """None when this process may write ``folder`` and ``db_file`` (with its ``-wal``/``-shm``
    companions), else why not. Root passes ``os.access`` except on a read-only file system."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    if db_file is not None:
        for f in (db_file, *(db_file.with_name(db_file.name + s) for s in ("-wal", "-shm"))):
            if f.exists() and not os.access(f, os.W_OK):
                return f"the database file {f} is not writable"
    return None


def sqlite_read_only_url(db_file: Path) -> str:
    """A SQLAlchemy URL opening ``db_file`` read-only (``mode=ro``, else ``immutable=1``)."""
    if not db_file.is_file():
        raise IndexNotFoundError(
            f"no index database at {db_file}; it cannot be created in a read-only folder. "
            "Create the index as a user who may write the folder, or check the path."
        )
    path = str(db_file.resolve())
    params = "mode=ro"
    if not _opens(f"file:{quote(path, safe='/')}?mode=ro", db_file):
        log.info(
            "%s: opened immutable (no -shm file and the folder is read-only); changes other "
            "processes make are seen only after a reopen",
            db_file,
        )
        params = "immutable=1"
    # SQLAlchemy unquotes the database part once; SQLite's URI parser unquotes it again.
    return f"sqlite:///file:{quote(quote(path, safe='/'), safe='/')}?{params}&uri=true"


def _opens(uri: str, db_file: Path) -> bool:
    try:
        con = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error:
        return False
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except sqlite3.DatabaseError as exc:
        if _sqlite_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            raise damaged(str(db_file), exc) from None
        return False
    finally:
        con.close()


def read_only_session(dialect: str) -> Any:
    """A ``connect`` listener that makes every connection refuse writes."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if dialect == "sqlite":
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA foreign_keys=ON")
        else:  # PostgreSQL: a session default, committed so it outlives this transaction
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_connection.commit()
        cursor.close()

    return on_connect


def check_schema(engine: Engine, script_location: Path, reason: str) -> None:
    """Instead of migrating a read-only store: fail unless its schema is the newest revision."""
    if at_head(engine, script_location / "versions"):
        return
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        have = ", ".join(sorted(current)) or "none (an empty database)"
        raise ReadOnlyError(
            f"the database at {where(engine)} has schema revision {have}, but this version of "
            f"latentsearch needs {', '.join(sorted(heads))}, and it is open read-only ({reason}) "
            "so it cannot be upgraded. Open it once with write access (any latentsearch command "
            "run by a user who may write the index folder and its database), then read-only."
        )


def translate_errors(engine: Engine, read_only_reason: str | None) -> None:
    """Raise `ReadOnlyError` for a write the database refused and `StoreError` for a damaged
    database, in place of SQLAlchemy's wrapped DBAPI errors (at connect time too)."""

    @event.listens_for(engine, "handle_error")
    def _translate(ctx: ExceptionContext) -> None:
        orig = ctx.original_exception
        if isinstance(orig, sqlite3.Error):
            code = _sqlite_code(orig)
            if code == _SQLITE_READONLY:
                raise refused(read_only_reason or str(orig)) from orig
            if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise damaged(where(engine), orig) from orig
            return
        state = getattr(orig, "sqlstate", None)
        if state == _PG_READ_ONLY:
            raise refused(read_only_reason or str(orig)) from orig
        if state in _PG_CORRUPT:
            raise damaged(where(engine), orig) from orig


def refused(reason: str, action: str = "write") -> ReadOnlyError:
    fix = (
        "open it without read_only=True"
        if "read_only=True" in reason
        else "open it as a user who may write the index folder and its database"
    )
    return ReadOnlyError(
        f"cannot {action}: this index is open read-only ({reason}); it can be searched, not "
        f"changed. To change it, {fix}."
    )


def damaged(location: str, exc: BaseException) -> StoreError:
    return StoreError(
        f"the database at {location} is damaged or is not a latentsearch database ({exc}). "
        "Restore the index folder from a backup, or move the damaged "
        "file aside and rebuild the index from its sources."
    )


def where(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        db = unquote((url.database or "").removeprefix("file:"))
        return db or ":memory:"
    return url.render_as_string(hide_password=True)


def _sqlite_code(exc: BaseException) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
