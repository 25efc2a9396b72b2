"""Engines, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DataError,
    OperationalError,
    StatementError,
)
from sqlalchemy.orm import Session, sessionmaker

from latentsearch.errors import InvalidInputError, InvalidTextError, LatentSearchError, StoreError
from latentsearch.store import opening
from latentsearch.store.heads import at_head

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_FILE = "latentsearch.db"
# Any constant key; serialises concurrent migrations from several PostgreSQL workers.
_PG_MIGRATION_LOCK = 0x6C61_7465_6E74


def make_engine(
    url: str, read_only_reason: str | None = None, max_connections: int | None = None
) -> Engine:
    """Create an engine. SQLite gets WAL, foreign keys and a busy timeout on every connection.

    With ``read_only_reason`` every connection refuses writes (see `opening`); either way a
    refused write raises `ReadOnlyError` and a damaged database `StoreError`.
    ``max_connections`` bounds the pool (no overflow); None keeps SQLAlchemy's default.
    """
    pool: dict[str, Any] = {}
    if max_connections is not None:
        pool = {"pool_size": max_connections, "max_overflow": 0}
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30}, **pool)
        else:
            engine = create_engine(url, pool_pre_ping=True, **pool)
        if read_only_reason is not None:
            event.listen(engine, "connect", opening.read_only_session(engine.dialect.name))
        elif url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        opening.translate_errors(engine, read_only_reason)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(
            f"cannot use database URL {url!r}: {exc}. "
            "Use e.g. 'postgresql+psycopg://user@host:5432/dbname' or leave it out for SQLite."
        ) from exc
    return engine


# Reads map the first 256 MiB of the database file instead of copying pages through read()
# calls: a search's ~10 hit rows lie on ~10 random pages, which the default 2 MiB page cache
# rarely holds. Measured on a 100k-item store (10-row hydration, p5 under load): 40 us
# unmapped, 26 us mapped; a 64 MiB page cache instead gave 36 us, and added to the map 24 us,
# so the cache stays at its default. The mapped pages are the OS's page cache, shared and
# reclaimable, but they count in the process's RSS once touched (at most this much).
SQLITE_MMAP_BYTES = 256 << 20


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{(folder / SQLITE_FILE).resolve()}"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent, safe with concurrent workers)."""
    if at_head(engine, MIGRATIONS / "versions"):
        return  # the usual case: nothing to run, and Alembic stays unimported
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise StoreError(
            f"cannot reach or migrate the database at {engine.url.render_as_string()}: {exc.orig}. "
            "Check that the server is running and the URL is right."
        ) from exc
    except DatabaseError as exc:  # e.g. a schema this user may not change
        raise StoreError(
            f"cannot migrate the database at {opening.where(engine)}: {exc.orig}"
        ) from exc


@contextmanager
def _refused_values() -> Iterator[None]:
    """The last line of defence behind the checks at the boundaries (`latentsearch.checks`): a
    value the database or its driver refuses (PostgreSQL's NUL in text, a lone surrogate, a
    number out of range) is the caller's bad input, raised typed once the transaction is rolled
    back. Only the first line of the database's message is kept (never the statement)."""
    try:
        yield
    except UnicodeEncodeError as exc:
        raise InvalidTextError(
            "a value in this request is not valid Unicode (a lone surrogate); text must be "
            "valid Unicode without NUL"
        ) from exc
    except StatementError as exc:
        if isinstance(exc, DataError) or isinstance(exc.orig, UnicodeEncodeError | OverflowError):
            first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
            raise InvalidInputError(
                f"the database refused a value in this request ({type(exc.orig).__name__}: "
                f"{first.encode('ascii', 'backslashreplace').decode()})"
            ) from exc
        raise


class Store:
    """An engine plus a session factory: one session per unit of work."""

    def __init__(
        self,
        url: str,
        *,
        read_only_reason: str | None = None,
        max_connections: int | None = None,
    ) -> None:
        """``read_only_reason`` (why this process may not write) opens the store read-only:
        the database refuses writes and the schema is checked instead of migrated.
        ``max_connections`` caps the connection pool (None: SQLAlchemy's default, 5 + 10)."""
        self.url = url
        self.read_only_reason = read_only_reason
        self.engine = make_engine(url, read_only_reason, max_connections)
        try:
            if read_only_reason is None:
                migrate(self.engine)
            else:
                opening.check_schema(self.engine, MIGRATIONS, read_only_reason)
        except LatentSearchError:
            self.engine.dispose()
            raise
        except OperationalError as exc:
            self.engine.dispose()
            raise StoreError(
                f"cannot open the database at {opening.where(self.engine)}: {exc.orig}"
            ) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (rolled back at the end)."""
        with _refused_values(), self._sessions() as s:
            yield s

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write unit of work: commits all of it or, on any error, none of it."""
        with _refused_values(), self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        self.engine.dispose()
