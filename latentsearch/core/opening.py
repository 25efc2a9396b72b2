"""Opening an index folder: the folder itself, and keeping image loading off its SQLite files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from latentsearch.encoders.images import protect
from latentsearch.errors import IndexNotFoundError, InvalidInputError
from latentsearch.store import Store
from latentsearch.store.engine import SQLITE_FILE


def folder(path: str | Path, *, create: bool) -> Path:
    """The index folder, resolved (created unless opening read-only). A file, or a folder that
    cannot be created, is an `InvalidInputError`; a missing one when read-only `IndexNotFoundError`."""
    if not isinstance(path, str | Path):
        raise InvalidInputError(f"path must be a folder path, not {type(path).__name__}")
    out = Path(path).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise InvalidInputError(
            f"{out} is a file, not an index folder: give the folder that holds "
            f"{SQLITE_FILE} and the index files (or a new folder's path to create one)"
        )
    if not out.exists():
        if not create:
            raise IndexNotFoundError(f"no index folder at {out}")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot create the index folder {out}: {exc.strerror or exc}"
            ) from exc
    return out


def protect_sqlite(store: Store) -> None:
    """Image loading must never open the database file (closing it would drop SQLite's locks)."""
    if store.dialect != "sqlite" or not store.engine.url.database:
        return
    name = store.engine.url.database
    if name.startswith("file:"):  # a URI filename such as file:/x/latentsearch.db?mode=ro
        name = unquote(name[5:].split("?", 1)[0])  # quoted once more for SQLite's URI parser
    if name and name != ":memory:":
        protect(*(name + suffix for suffix in ("", "-wal", "-shm", "-journal")))
