"""Named concept directions: vectors saved per collection, used in expressions as ``vec:<name>``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from latentsearch.checks import check_text
from latentsearch.store.items import from_blobs, to_blob
from latentsearch.store.models import Base, BigId, JsonType, UTCDateTime, utcnow


class DirectionRow(Base):
    """A direction in one collection's latent space, with the terms it was built from."""

    __tablename__ = "ls_directions"
    __table_args__ = (
        UniqueConstraint("collection_id", "name", name="uq_ls_directions_collection_name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("ls_collections.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    positive: Mapped[list[str]] = mapped_column(JsonType)
    negative: Mapped[list[str]] = mapped_column(JsonType)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def save(
    s: Session,
    collection_id: int,
    name: str,
    vector: np.ndarray,
    positive: list[str],
    negative: list[str],
) -> None:
    """Save (or replace) the direction ``name``."""
    check_text(name, "the direction name")
    for label in (*positive, *negative):
        check_text(label, f"the direction term {label!r}")
    s.execute(
        delete(DirectionRow).where(
            DirectionRow.collection_id == collection_id, DirectionRow.name == name
        )
    )
    s.add(
        DirectionRow(
            collection_id=collection_id,
            name=name,
            dim=int(vector.shape[0]),
            data=to_blob(vector),
            positive=positive,
            negative=negative,
            created=utcnow(),
        )
    )


def load(s: Session, collection_id: int, names: list[str]) -> dict[str, np.ndarray]:
    """The saved vectors of those of ``names`` that exist."""
    rows = s.execute(
        select(DirectionRow.name, DirectionRow.dim, DirectionRow.data).where(
            DirectionRow.collection_id == collection_id, DirectionRow.name.in_(names)
        )
    )
    return {name: from_blobs([data], dim)[0] for name, dim, data in rows}


def listing(s: Session, collection_id: int) -> list[DirectionRow]:
    return list(
        s.scalars(
            select(DirectionRow)
            .where(DirectionRow.collection_id == collection_id)
            .order_by(DirectionRow.name)
        )
    )


def remove(s: Session, collection_id: int, name: str) -> bool:
    res: Any = s.execute(
        delete(DirectionRow).where(
            DirectionRow.collection_id == collection_id, DirectionRow.name == name
        )
    )
    return bool(res.rowcount)
