"""The sync feature's tables (created by the store's migrations, 0007): what `latentsearch sync`
remembers per source and per source record.

``ls_sync_sources`` holds a source's cursor (the last `Checkpoint` whose records were all
written), its last run and that run's counts and errors. ``ls_sync_records`` holds, per source
record, the version last indexed and the item ids it became, so an unchanged record is skipped
without encoding and a deleted one takes all its chunks with it. A row whose ``version`` is NULL
is being written (or was, when a run was killed): its ``items`` list every id that may exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from latentsearch.store import Base
from latentsearch.store.models import JsonType, UTCDateTime, utcnow


class SyncSourceRow(Base):
    """One ``[[source]]`` of sources.toml, by name."""

    __tablename__ = "ls_sync_sources"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(200))
    collection: Mapped[str] = mapped_column(String(200))
    cursor: Mapped[str | None] = mapped_column(Text)
    # A hash of the settings the cursor was made under: when they change, the next run starts over.
    settings: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # never | running | done | failed | interrupted
    started: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncRecordRow(Base):
    """One record of a source as last indexed."""

    __tablename__ = "ls_sync_records"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    version: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[str]] = mapped_column(JsonType, default=list)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
