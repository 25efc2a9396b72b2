"""SQL for source sync (tables in `connectors/tables.py`). Each function takes the caller's
session; the runner decides the transactions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from latentsearch.connectors.tables import SyncRecordRow, SyncSourceRow
from latentsearch.store.models import utcnow

MAX_ERRORS = 100  # the errors kept per run (the count is always exact)
PAGE = 1000


@dataclass(frozen=True, slots=True)
class SourceState:
    """What `latentsearch sources status` shows for one source."""

    name: str
    type: str
    collection: str
    cursor: str | None
    status: str
    started: datetime | None
    finished: datetime | None
    counts: dict[str, Any]
    errors: list[Any]
    records: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "collection": self.collection,
            "cursor": self.cursor,
            "status": self.status,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "counts": self.counts,
            "errors": self.errors,
            "records": self.records,
        }


def source_row(s: Session, name: str) -> SyncSourceRow | None:
    return s.get(SyncSourceRow, name)


def start_run(s: Session, name: str, type_: str, collection: str, settings: str) -> str | None:
    """Mark the source running; returns its stored cursor (None when it was made under other
    settings: the run starts over)."""
    row = source_row(s, name)
    now = utcnow()
    if row is None:
        s.add(
            SyncSourceRow(
                name=name,
                type=type_,
                collection=collection,
                cursor=None,
                settings=settings,
                status="running",
                started=now,
                finished=None,
                counts={},
                errors=[],
                updated=now,
            )
        )
        s.flush()
        return None
    row.type, row.status, row.started, row.updated = type_, "running", now, now
    if row.settings != settings:
        row.cursor, row.settings = None, settings
    return row.cursor


def set_cursor(s: Session, name: str, cursor: str) -> None:
    s.execute(
        update(SyncSourceRow)
        .where(SyncSourceRow.name == name)
        .values(cursor=cursor, updated=utcnow())
    )


def finish_run(
    s: Session, name: str, status: str, counts: dict[str, Any], errors: list[Any]
) -> None:
    s.execute(
        update(SyncSourceRow)
        .where(SyncSourceRow.name == name)
        .values(
            status=status,
            finished=utcnow(),
            counts=counts,
            errors=errors[:MAX_ERRORS],
            updated=utcnow(),
        )
    )


def states(s: Session, names: Sequence[str]) -> dict[str, SourceState]:
    from sqlalchemy import func

    counts = dict(
        s.execute(
            select(SyncRecordRow.source, func.count())
            .where(SyncRecordRow.source.in_(list(names)))
            .group_by(SyncRecordRow.source)
        ).all()
    )
    rows = s.scalars(select(SyncSourceRow).where(SyncSourceRow.name.in_(list(names))))
    return {
        r.name: SourceState(
            r.name,
            r.type,
            r.collection,
            r.cursor,
            r.status,
            r.started,
            r.finished,
            dict(r.counts or {}),
            list(r.errors or []),
            int(counts.get(r.name, 0)),
        )
        for r in rows
    }


def records(s: Session, source: str, ids: Sequence[str]) -> dict[str, tuple[str | None, list[str]]]:
    """``record id -> (version, item ids)`` for the known ones among ``ids``."""
    out: dict[str, tuple[str | None, list[str]]] = {}
    for k in range(0, len(ids), PAGE):
        rows = s.execute(
            select(SyncRecordRow.record_id, SyncRecordRow.version, SyncRecordRow.items).where(
                SyncRecordRow.source == source,
                SyncRecordRow.record_id.in_(list(ids[k : k + PAGE])),
            )
        )
        out.update({r: (v, list(items or [])) for r, v, items in rows})
    return out


def put_records(s: Session, source: str, rows: Sequence[tuple[str, str | None, list[str]]]) -> None:
    """Write ``(record id, version, item ids)`` rows, replacing any stored ones."""
    ids = [r[0] for r in rows]
    for k in range(0, len(ids), PAGE):
        s.execute(
            delete(SyncRecordRow).where(
                SyncRecordRow.source == source, SyncRecordRow.record_id.in_(ids[k : k + PAGE])
            )
        )
    now = utcnow()
    values = [
        {"source": source, "record_id": r, "version": v, "items": items, "updated": now}
        for r, v, items in rows
    ]
    for k in range(0, len(values), PAGE):
        s.execute(insert(SyncRecordRow), values[k : k + PAGE])


def drop_records(s: Session, source: str, ids: Sequence[str]) -> None:
    for k in range(0, len(ids), PAGE):
        s.execute(
            delete(SyncRecordRow).where(
                SyncRecordRow.source == source, SyncRecordRow.record_id.in_(list(ids[k : k + PAGE]))
            )
        )


def record_pages(s: Session, source: str) -> Iterator[list[str]]:
    """Every stored record id of a source, a page at a time, in id order (keyset paging, so
    rows deleted between pages do not shift it)."""
    last = ""
    while True:
        page = list(
            s.scalars(
                select(SyncRecordRow.record_id)
                .where(SyncRecordRow.source == source, SyncRecordRow.record_id > last)
                .order_by(SyncRecordRow.record_id)
                .limit(PAGE)
            )
        )
        if not page:
            return
        yield page
        last = page[-1]
