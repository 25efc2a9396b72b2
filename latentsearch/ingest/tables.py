"""The ingest feature's tables (created by the store's migrations, 0003): what incremental
builds remember: one row per build, per source file and per document.

A file's ``content_hash`` (of its bytes) and ``settings`` (of the build options that shape its
items) say whether it must be read again. A document's ``record_hash`` says whether it must be
chunked and embedded again. ``build_id`` marks what the current build has seen, so documents that
vanished from a file, and files that vanished from the sources, can be found in SQL without
holding every id in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from latentsearch.store import Base
from latentsearch.store.models import BigId, JsonType, UTCDateTime, utcnow

FILE_PENDING = "pending"  # being (re)indexed, or interrupted while it was
FILE_DONE = "done"
FILE_FAILED = "failed"
FILE_STALE = "stale"  # some of its documents were deleted by hand: read it again next build


class BuildRow(Base):
    """One run of ``latentsearch build`` over a collection."""

    __tablename__ = "ls_ingest_builds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("ls_collections.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))  # running | done | interrupted | failed
    sources: Mapped[list[str]] = mapped_column(JsonType, default=list)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    started: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SourceFileRow(Base):
    """One source file as the last build that read it saw it."""

    __tablename__ = "ls_ingest_files"
    __table_args__ = (
        UniqueConstraint("collection_id", "path", name="uq_ls_ingest_files_collection_path"),
        Index("ix_ls_ingest_files_collection_build", "collection_id", "build_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("ls_collections.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(2048))  # absolute path as walked
    doc_id: Mapped[str] = mapped_column(
        String(512)
    )  # id of its document (or prefix of its records')
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    settings: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    build_id: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SourceDocRow(Base):
    """One document (a whole file, or one record of a record file) and the hash it was built from."""

    __tablename__ = "ls_ingest_docs"
    __table_args__ = (Index("ix_ls_ingest_docs_file_build", "file_id", "build_id"),)

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("ls_collections.id", ondelete="CASCADE"), primary_key=True
    )
    doc_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ls_ingest_files.id", ondelete="CASCADE"))
    record_hash: Mapped[str] = mapped_column(String(64))
    items: Mapped[int] = mapped_column(Integer)
    build_id: Mapped[int] = mapped_column(BigInteger)
