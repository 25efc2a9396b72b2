"""Hit rows and the collection's write seq in one prepared statement, on the DBAPI cursor.

A search hydrates about ten rows. Through SQLAlchemy that costs more than the rows themselves:
a session, the seq in a statement of its own, an expanding ``IN`` rendered for every call and a
`Row` per result with its JSON processed (together about 0.5 ms per query on SQLite). Here the
SQL text is fixed per dialect and list size, so the driver keeps it prepared (sqlite3's statement
cache; psycopg prepares a query after its fifth execution), and each row comes back as a plain
tuple whose metadata is left undecoded for the hit to decode on first access.

The seq is a column of the same statement (an uncorrelated scalar subquery, evaluated once), so
the rows and the seq are read in one snapshot: `query.fastpath` compares it with the seq its
index reflected when it searched, which keeps several processes consistent without a second
round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentsearch.store.models import CollectionRow, ItemRow

# The columns of a hit row, in tuple order; the statement appends the collection's seq.
COLUMNS = (
    "id",
    "external_id",
    "kind",
    "text",
    "content_ref",
    "source_uri",
    "source_title",
    "parent_id",
    "chunk_start",
    "chunk_end",
    "metadata",
)
SEQ = len(COLUMNS)  # the seq's position in a row
DIALECTS = ("sqlite", "postgresql")  # others take the SQLAlchemy path
# SQLite lists are padded to one of these sizes (repeating an id), so at most eight statement
# texts exist and all stay in the driver's cache; longer lists go in chunks of the largest.
_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048)

_ITEMS, _COLLECTIONS = ItemRow.__tablename__, CollectionRow.__tablename__
_SELECT = ", ".join(COLUMNS)


def _sqlite_statement(n: int) -> str:
    # "+collection_id" keeps SQLite from reaching the rows through the collection index (two
    # B-tree descents per row): the integer primary key finds each row in one.
    marks = ",".join("?" * n)
    return (
        f"SELECT {_SELECT}, (SELECT seq FROM {_COLLECTIONS} WHERE id = ?) FROM {_ITEMS} "
        f"WHERE id IN ({marks}) AND +collection_id = ?"
    )


_SQLITE = {n: _sqlite_statement(n) for n in _SIZES}
_POSTGRES = (
    f"SELECT {_SELECT}, (SELECT seq FROM {_COLLECTIONS} WHERE id = %s) FROM {_ITEMS} "
    "WHERE id = ANY(%s::bigint[]) AND collection_id = %s"
)
_SEQ_SQL = {
    "sqlite": f"SELECT seq FROM {_COLLECTIONS} WHERE id = ?",
    "postgresql": f"SELECT seq FROM {_COLLECTIONS} WHERE id = %s",
}


def fetch(
    cursor: Any, dialect: str, collection_id: int, pks: Sequence[int]
) -> tuple[dict[int, tuple[Any, ...]], set[int | None]]:
    """The rows of ``pks`` (sorted, distinct) in ``collection_id`` by primary key, and every
    seq the statements saw (one per statement; ``None`` when the collection is gone).

    With no rows found the seq is read on its own, so the answer always carries one.
    """
    rows: dict[int, tuple[Any, ...]] = {}
    seqs: set[int | None] = set()
    if dialect == "sqlite":
        top = _SIZES[-1]
        for start in range(0, len(pks), top):
            part = list(pks[start : start + top])
            size = next(s for s in _SIZES if s >= len(part))
            part += part[-1:] * (size - len(part))
            cursor.execute(_SQLITE[size], (collection_id, *part, collection_id))
            _collect(cursor.fetchall(), rows, seqs)
    elif len(pks):
        cursor.execute(_POSTGRES, (collection_id, list(pks), collection_id))
        _collect(cursor.fetchall(), rows, seqs)
    if not rows:
        cursor.execute(_SEQ_SQL[dialect], (collection_id,))
        found = cursor.fetchone()
        seqs.add(None if found is None else int(found[0]))
    return rows, seqs


def _collect(
    found: list[tuple[Any, ...]], rows: dict[int, tuple[Any, ...]], seqs: set[int | None]
) -> None:
    for r in found:
        rows[r[0]] = r
        seqs.add(r[SEQ])
