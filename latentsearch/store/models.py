"""SQLAlchemy 2.0 typed models: the source of truth for collections, items, ACLs and vectors.

Schema changes go through Alembic (`latentsearch/store/migrations`); a test checks that the
models and the migrations agree.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements a plain INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone; put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CollectionRow(Base):
    """One latent space: one encoder identity, one dimension, one metric."""

    __tablename__ = "ls_collections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    encoder: Mapped[dict[str, Any]] = mapped_column(JsonType)
    dim: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(16))
    index_spec: Mapped[str] = mapped_column(String(200))
    require_principals: Mapped[bool] = mapped_column(Boolean, default=False)
    # Incremented by every write transaction; the FAISS index records the seq it reflects.
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ItemRow(Base):
    """One embedded thing. Its integer primary key is its FAISS id, and is never reused."""

    __tablename__ = "ls_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "external_id", name="uq_ls_items_collection_external"),
        Index("ix_ls_items_collection_seq", "collection_id", "seq"),
        Index("ix_ls_items_collection_parent", "collection_id", "parent_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("ls_collections.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    content_ref: Mapped[str | None] = mapped_column(Text)
    source_uri: Mapped[str | None] = mapped_column(Text)
    source_title: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(String(512))
    chunk_start: Mapped[int | None] = mapped_column(Integer)
    chunk_end: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ItemPrincipalRow(Base):
    """Who may see an item: one row per (item, principal). ``"*"`` means everyone."""

    __tablename__ = "ls_item_principals"
    __table_args__ = (Index("ix_ls_item_principals_principal_item", "principal", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("ls_items.id", ondelete="CASCADE"), primary_key=True
    )
    principal: Mapped[str] = mapped_column(String(256), primary_key=True)


class VectorRow(Base):
    """The durable float32 vector of an item, from which the FAISS index can always be rebuilt."""

    __tablename__ = "ls_vectors"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("ls_items.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class TombstoneRow(Base):
    """A deleted item id and the write seq that deleted it, so indexes can catch up incrementally."""

    __tablename__ = "ls_tombstones"
    __table_args__ = (Index("ix_ls_tombstones_collection_seq", "collection_id", "seq"),)

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("ls_collections.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


def content_hash(kind: str, payload: bytes) -> str:
    """What `ItemRow.content_hash` holds: unchanged content (same hash) is never re-embedded, and
    the ingest pipeline compares against it to skip unchanged documents."""
    return hashlib.sha256(kind.encode() + b"\0" + payload).hexdigest()
