"""SQL for incremental builds: builds, per-file and per-document state (tables in `ingest/tables.py`).

Every function takes the caller's session; the build pipeline decides the transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from latentsearch.ingest.tables import (
    FILE_DONE,
    FILE_FAILED,
    FILE_PENDING,
    FILE_STALE,
    BuildRow,
    SourceDocRow,
    SourceFileRow,
)
from latentsearch.store import ItemRow
from latentsearch.store.items import chunks
from latentsearch.store.models import utcnow


def start_build(s: Session, collection_id: int, sources: list[str]) -> int:
    row = BuildRow(collection_id=collection_id, status="running", sources=sources, started=utcnow())
    s.add(row)
    s.flush()
    return int(row.id)


def finish_build(s: Session, build_id: int, status: str, summary: dict[str, Any]) -> None:
    s.execute(
        update(BuildRow)
        .where(BuildRow.id == build_id)
        .values(status=status, summary=summary, finished=utcnow())
    )


def last_build(s: Session, collection_id: int) -> BuildRow | None:
    return s.scalars(
        select(BuildRow)
        .where(BuildRow.collection_id == collection_id)
        .order_by(BuildRow.id.desc())
        .limit(1)
    ).first()


def file_row(s: Session, collection_id: int, path: str) -> SourceFileRow | None:
    return s.scalars(
        select(SourceFileRow).where(
            SourceFileRow.collection_id == collection_id, SourceFileRow.path == path
        )
    ).first()


FileState = tuple[str, str | None, str | None, int, int]


def file_states(s: Session, collection_id: int, paths: Sequence[str]) -> dict[str, FileState]:
    """``(status, content_hash, settings, documents, id)`` of each recorded file among ``paths``,
    in one query per thousand paths (a build compares every file it scans with its row)."""
    out: dict[str, FileState] = {}
    cols = (
        SourceFileRow.path,
        SourceFileRow.status,
        SourceFileRow.content_hash,
        SourceFileRow.settings,
        SourceFileRow.documents,
        SourceFileRow.id,
    )
    for part in chunks(list(paths)):
        rows = s.execute(
            select(*cols).where(
                SourceFileRow.collection_id == collection_id, SourceFileRow.path.in_(part)
            )
        )
        out.update({r[0]: (r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows})
    return out


def upsert_file(s: Session, collection_id: int, path: str, **values: Any) -> int:
    """Create or update a file's row; returns its id."""
    values["updated"] = utcnow()
    row = file_row(s, collection_id, path)
    if row is None:
        defaults = {
            "documents": 0,
            "items": 0,
            "content_hash": None,
            "settings": None,
            "error": None,
        }
        row = SourceFileRow(collection_id=collection_id, path=path, **{**defaults, **values})
        s.add(row)
        s.flush()
        return int(row.id)
    s.execute(update(SourceFileRow).where(SourceFileRow.id == row.id).values(**values))
    return int(row.id)


def set_file(s: Session, file_id: int, **values: Any) -> None:
    s.execute(
        update(SourceFileRow).where(SourceFileRow.id == file_id).values(**values, updated=utcnow())
    )


def file_totals(s: Session, file_id: int) -> tuple[int, int]:
    """(documents, items) recorded for a file."""
    n, items = s.execute(
        select(func.count(), func.coalesce(func.sum(SourceDocRow.items), 0)).where(
            SourceDocRow.file_id == file_id
        )
    ).one()
    return int(n), int(items)


def mark_seen(s: Session, file_ids: Sequence[int], build_id: int) -> None:
    for part in chunks(list(file_ids)):
        s.execute(update(SourceFileRow).where(SourceFileRow.id.in_(part)).values(build_id=build_id))


def docs(
    s: Session, collection_id: int, doc_ids: Sequence[str]
) -> dict[str, tuple[SourceDocRow, str]]:
    """Known documents by id, each with the path of the file it came from."""
    out: dict[str, tuple[SourceDocRow, str]] = {}
    for part in chunks(list(doc_ids)):
        rows = s.execute(
            select(SourceDocRow, SourceFileRow.path)
            .join(SourceFileRow, SourceFileRow.id == SourceDocRow.file_id)
            .where(SourceDocRow.collection_id == collection_id, SourceDocRow.doc_id.in_(part))
        )
        out.update({d.doc_id: (d, path) for d, path in rows})
    return out


def put_docs(
    s: Session,
    collection_id: int,
    file_id: int,
    build_id: int,
    rows: Sequence[tuple[str, str, int]],
) -> None:
    """Record documents ``(doc_id, record_hash, items)`` as coming from ``file_id`` in this build."""
    ids = [r[0] for r in rows]
    delete_docs(s, collection_id, ids)
    values = [
        {
            "collection_id": collection_id,
            "doc_id": d,
            "file_id": file_id,
            "record_hash": h,
            "items": n,
            "build_id": build_id,
        }
        for d, h, n in rows
    ]
    for part in chunks(values):
        s.execute(insert(SourceDocRow), list(part))


def touch_docs(s: Session, collection_id: int, doc_ids: Sequence[str], build_id: int) -> None:
    for part in chunks(list(doc_ids)):
        s.execute(
            update(SourceDocRow)
            .where(SourceDocRow.collection_id == collection_id, SourceDocRow.doc_id.in_(part))
            .values(build_id=build_id)
        )


def delete_docs(s: Session, collection_id: int, doc_ids: Sequence[str]) -> None:
    for part in chunks(list(doc_ids)):
        s.execute(
            delete(SourceDocRow).where(
                SourceDocRow.collection_id == collection_id, SourceDocRow.doc_id.in_(part)
            )
        )


def stale_docs(s: Session, file_id: int, build_id: int, limit: int = 1000) -> list[str]:
    """Up to ``limit`` documents of a file that this build did not see (gone from the file)."""
    return list(
        s.scalars(
            select(SourceDocRow.doc_id)
            .where(SourceDocRow.file_id == file_id, SourceDocRow.build_id != build_id)
            .order_by(SourceDocRow.doc_id)
            .limit(limit)
        )
    )


def doc_ids_of_file(s: Session, file_id: int, limit: int = 1000) -> list[str]:
    return list(
        s.scalars(
            select(SourceDocRow.doc_id)
            .where(SourceDocRow.file_id == file_id)
            .order_by(SourceDocRow.doc_id)
            .limit(limit)
        )
    )


def item_ids(s: Session, collection_id: int, doc_ids: Sequence[str]) -> dict[str, set[str]]:
    """The stored item ids of each document: the document's own id and its chunks' ids."""
    out: dict[str, set[str]] = {d: set() for d in doc_ids}
    for part in chunks(list(doc_ids)):
        rows = s.execute(
            select(ItemRow.external_id, ItemRow.parent_id).where(
                ItemRow.collection_id == collection_id,
                ItemRow.external_id.in_(part) | ItemRow.parent_id.in_(part),
            )
        )
        for ext, parent in rows:
            out[parent if parent in out else ext].add(ext)
    return out


def content_hashes(s: Session, collection_id: int, ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in chunks(list(ids)):
        rows = s.execute(
            select(ItemRow.external_id, ItemRow.content_hash).where(
                ItemRow.collection_id == collection_id, ItemRow.external_id.in_(part)
            )
        )
        out.update({ext: digest for ext, digest in rows})
    return out


def unseen_files(s: Session, collection_id: int, build_id: int) -> list[SourceFileRow]:
    """Files recorded for this collection that this build did not come across."""
    return list(
        s.scalars(
            select(SourceFileRow)
            .where(SourceFileRow.collection_id == collection_id, SourceFileRow.build_id != build_id)
            .order_by(SourceFileRow.path)
        )
    )


def delete_file(s: Session, file_id: int) -> None:
    s.execute(delete(SourceDocRow).where(SourceDocRow.file_id == file_id))
    s.execute(delete(SourceFileRow).where(SourceFileRow.id == file_id))


def forget_missing(s: Session, collection_id: int) -> int:
    """After items were deleted by hand: forget documents that lost all their items, and mark
    their files stale so the next build reads them again. Returns the number forgotten."""
    has_items = exists().where(
        ItemRow.collection_id == collection_id,
        (ItemRow.external_id == SourceDocRow.doc_id) | (ItemRow.parent_id == SourceDocRow.doc_id),
    )
    orphan = select(SourceDocRow.doc_id, SourceDocRow.file_id).where(
        SourceDocRow.collection_id == collection_id, ~has_items
    )
    rows = s.execute(orphan).all()
    if not rows:
        return 0
    file_ids = sorted({f for _, f in rows})
    for part in chunks(file_ids):
        s.execute(update(SourceFileRow).where(SourceFileRow.id.in_(part)).values(status=FILE_STALE))
    delete_docs(s, collection_id, [d for d, _ in rows])
    return len(rows)


def file_counts(s: Session, collection_id: int) -> dict[str, int]:
    rows = s.execute(
        select(SourceFileRow.status, func.count())
        .where(SourceFileRow.collection_id == collection_id)
        .group_by(SourceFileRow.status)
    )
    counts = {FILE_DONE: 0, FILE_FAILED: 0, FILE_PENDING: 0, FILE_STALE: 0}
    counts.update({k: int(v) for k, v in rows})
    return counts


def failed_files(
    s: Session, collection_id: int, limit: int = 100
) -> Iterable[tuple[str, str | None]]:
    return s.execute(
        select(SourceFileRow.path, SourceFileRow.error)
        .where(SourceFileRow.collection_id == collection_id, SourceFileRow.status == FILE_FAILED)
        .order_by(SourceFileRow.path)
        .limit(limit)
    )
