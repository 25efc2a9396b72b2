"""Server settings (from arguments or environment) and the per-process state built from them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from latentsearch import Collection, Database, connect
from latentsearch.directory import AccountCache
from latentsearch.errors import CollectionNotFoundError, InvalidInputError

log = logging.getLogger("latentsearch.server")

ENV_PREFIX = "LATENTSEARCH_"
DEFAULT_MAX_BODY = 16 << 20
DEFAULT_DIRECTORY_TTL = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    """What one server process serves and how.

    ``cors_origins`` is empty by default (no CORS headers: the page is same-origin).
    ``max_body_bytes`` caps request bodies (413 beyond it). ``warm`` loads every collection's
    encoder at start-up so the first search is not slow. ``directory_ttl``: how many seconds a
    user's directory groups (and disabled flag) are cached per process (0: read on every request).
    ``cluster`` serves the collections' sharded indexes from a Ray cluster (``"auto"``, an
    address or ``ray://host:10001``; PostgreSQL only); None keeps every index in this process.
    """

    index: Path
    database: str | None = None
    device: str = "auto"
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY
    warm: bool = True
    directory_ttl: float = DEFAULT_DIRECTORY_TTL
    cluster: str | None = None

    def to_env(self) -> dict[str, str]:
        """Environment for worker processes (``--workers N`` starts fresh interpreters)."""
        env = {
            f"{ENV_PREFIX}INDEX": str(self.index),
            f"{ENV_PREFIX}DEVICE": self.device,
            f"{ENV_PREFIX}CORS_ORIGINS": ",".join(self.cors_origins),
            f"{ENV_PREFIX}MAX_BODY_BYTES": str(self.max_body_bytes),
            f"{ENV_PREFIX}WARM": "1" if self.warm else "0",
            f"{ENV_PREFIX}DIRECTORY_TTL": repr(self.directory_ttl),
        }
        if self.database:
            env[f"{ENV_PREFIX}DATABASE"] = self.database
        if self.cluster:
            env[f"{ENV_PREFIX}CLUSTER"] = self.cluster
        return env

    @classmethod
    def from_env(cls) -> Settings:
        index = os.environ.get(f"{ENV_PREFIX}INDEX")
        if not index:
            raise InvalidInputError(
                f"set {ENV_PREFIX}INDEX to the index folder (or use `latentsearch serve --index PATH`)"
            )
        origins = os.environ.get(f"{ENV_PREFIX}CORS_ORIGINS", "")
        try:
            max_body = int(os.environ.get(f"{ENV_PREFIX}MAX_BODY_BYTES", DEFAULT_MAX_BODY))
        except ValueError as exc:
            raise InvalidInputError(
                f"{ENV_PREFIX}MAX_BODY_BYTES must be an integer number of bytes"
            ) from exc
        try:
            ttl = float(os.environ.get(f"{ENV_PREFIX}DIRECTORY_TTL", DEFAULT_DIRECTORY_TTL))
        except ValueError as exc:
            raise InvalidInputError(
                f"{ENV_PREFIX}DIRECTORY_TTL must be a number of seconds (0 or more)"
            ) from exc
        if not ttl >= 0:
            raise InvalidInputError(f"{ENV_PREFIX}DIRECTORY_TTL must be 0 or more seconds")
        return cls(
            index=Path(index),
            database=os.environ.get(f"{ENV_PREFIX}DATABASE") or None,
            device=os.environ.get(f"{ENV_PREFIX}DEVICE", "auto"),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            max_body_bytes=max_body,
            warm=os.environ.get(f"{ENV_PREFIX}WARM", "1") != "0",
            directory_ttl=ttl,
            cluster=os.environ.get(f"{ENV_PREFIX}CLUSTER") or None,
        )


@dataclass(slots=True)
class State:
    """One process's open database (FAISS indexes are kept in step with SQL on every read)."""

    settings: Settings
    db: Database = field(init=False)
    accounts: AccountCache = field(init=False)  # directory users' groups, for a few seconds

    def __post_init__(self) -> None:
        self.db = connect(
            self.settings.index,
            database=self.settings.database,
            device=self.settings.device,
            cluster=self.settings.cluster,
        )
        self.accounts = AccountCache(self.settings.directory_ttl)

    @property
    def uploads(self) -> Path:
        """Where images uploaded over HTTP are kept (their items reference these files).

        Asked for by every write request: a read-only index refuses it here (409)."""
        self.db.require_writable("write items")
        path = self.db.path / "uploads"
        path.mkdir(exist_ok=True)
        return path

    def warm_up(self) -> None:
        for info in self.db.collections():
            col = self.db.collection(info.name)
            if col.identity is not None:
                _ = col.encoder
            col.sync()
        log.info("serving %d collection(s) from %s", len(self.db.collections()), self.db.path)

    def collection(self, name: str) -> Collection:
        """Open a collection by name; a stale handle (dropped and re-created elsewhere) is reopened."""
        col = self.db.collection(name)
        try:
            col.sync()
        except CollectionNotFoundError:
            col = self.db.reopen(name)
        return col

    def close(self) -> None:
        self.db.close()
