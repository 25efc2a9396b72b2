"""Options shared by several commands, and opening indexes and collections from them.

Imported by every command module when ``--help`` runs: the store, the index and the encoders
are imported by the functions that open them, not here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentsearch.errors import CollectionNotFoundError, IndexNotFoundError, InvalidInputError

if TYPE_CHECKING:
    from latentsearch import Collection, Database

DEFAULT_COLLECTION = "default"

IndexOpt = Annotated[
    Path,
    typer.Option(
        "--index",
        "-i",
        envvar="LATENTSEARCH_INDEX",
        show_default=False,
        help="Index folder (FAISS files, and the SQLite database unless --database is given).",
    ),
]
CollectionOpt = Annotated[
    str,
    typer.Option("--collection", "-c", envvar="LATENTSEARCH_COLLECTION", help="Collection name."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="LATENTSEARCH_DATABASE",
        show_default=False,
        help="SQLAlchemy URL of the metadata store, e.g. postgresql+psycopg://user@host/db (default: SQLite in the index folder).",
    ),
]
DeviceOpt = Annotated[
    str, typer.Option("--device", help="Where to run the encoder and index: auto, cpu or cuda.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for programs) instead of text.")]
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, max=10_000, help="Number of results.")]
WhereOpt = Annotated[
    str | None,
    typer.Option(
        "--where",
        "-w",
        show_default=False,
        help='Metadata filter as JSON, e.g. \'{"team": "eng", "year": {"$gte": 2023}}\'.',
    ),
]
PrincipalOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--principal",
        "-p",
        show_default=False,
        help="Search as this principal (repeatable), e.g. -p user:alice -p group:eng. Only items whose ACL holds one of them, or '*', are returned.",
    ),
]
MmrOpt = Annotated[
    float | None,
    typer.Option(
        "--mmr",
        min=0.0,
        max=1.0,
        show_default=False,
        help="Diversify results with maximal marginal relevance (lambda 0..1; 1 = pure relevance).",
    ),
]


def check_index(index: Path, database: str | None) -> None:
    """A read command needs an existing index: fail with the fix instead of creating an empty one."""
    from latentsearch import connect
    from latentsearch.store.engine import SQLITE_FILE

    if index.exists() and not index.is_dir():
        connect(index)  # raises the API's InvalidInputError ("... is a file, not an index folder")
    if database is not None:
        return
    if not index.is_dir() or not (index / SQLITE_FILE).is_file():
        raise IndexNotFoundError(
            f"no index at {index} (no {SQLITE_FILE} there); create one with: latentsearch build SOURCE --index {index}"
        )


@contextmanager
def open_index(
    index: Path,
    database: str | None,
    device: str = "auto",
    *,
    create: bool = False,
    cluster: str | None = None,
) -> Iterator[Database]:
    from latentsearch import connect

    if not create:
        check_index(index, database)
    db = connect(index, database=database, device=device, cluster=cluster)
    try:
        yield db
    finally:
        db.close()


def open_collection(db: Database, name: str) -> Collection:
    try:
        return db.collection(name)
    except CollectionNotFoundError:
        known = ", ".join(c.name for c in db.collections()) or "none yet"
        raise CollectionNotFoundError(
            f"no collection {name!r} in {db.path} (existing: {known}); pick one with --collection, "
            f"or create it with: latentsearch build SOURCE --index {db.path} --collection {name}"
        ) from None


def parse_where(where: str | None) -> dict[str, Any] | None:
    """``--where`` JSON to a filter dict, or a usage error that points at the problem."""
    if where is None:
        return None
    try:
        value = json.loads(where)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--where is not valid JSON ({exc.msg} at column {exc.colno}); "
            'give an object like \'{"team": "eng"}\' in single quotes'
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f'--where must be a JSON object like \'{{"team": "eng"}}\', not {type(value).__name__}'
        )
    return value


_IMAGE = re.compile(r"^image:(.+)$", re.DOTALL)


def parse_term(term: str) -> Any:
    """A query term from the command line: ``@ID`` is an item, ``image:PATH`` an image, else text."""
    if term.startswith("@") and len(term) > 1:
        return {"id": term[1:]}
    m = _IMAGE.match(term)
    if m:
        return image_path(m.group(1))
    return term


def image_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidInputError(
            f"image {str(value)!r} is not a file; give the path of a PNG, JPEG, WebP, GIF or BMP image"
        )
    return path


def principals(values: list[str] | None) -> list[str] | None:
    return list(values) if values else None
