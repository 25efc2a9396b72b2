"""The bulk path of `Collection.add` for bare vectors: no Python object per vector.

``add(vectors=<2-d array>, ids=[...])`` with nothing else (no metadata, ACLs, sources or
principals) is how large collections are loaded: S2 writes 10M vectors in 50k batches. The
general path turns every row into a dict and a `records.NewItem`, then SQLAlchemy turns each
into bound parameters; at 10M that was most of the build. Here the block is validated at once
(`records.vector_block`), ids are checked in one pass, content hashes are one `sha256` per row,
and every table is written with the driver's executemany over tuples in one transaction
(`store.bulk_items.insert_vector_items`).

Whatever this path does not cover goes the general way, which gives the same results and
errors: ids that already exist (add refuses them, naming them), ids that fail a check
(their messages name the record), duplicates within the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError

from latentsearch.checks import text_problem
from latentsearch.core.protocol import Keeper
from latentsearch.core.records import MAX_ID_LENGTH, vector_block
from latentsearch.core.settings import CollectionSettings
from latentsearch.errors import DuplicateIdError
from latentsearch.results import WriteResult
from latentsearch.store import Store, bulk_items
from latentsearch.store import items as sql
from latentsearch.store.models import content_hash, utcnow

OTHER_COLUMNS = ("texts", "images", "metadata", "acl", "sources")


def bulk_add(
    store: Store, keeper: Keeper, settings: CollectionSettings, columns: dict[str, Any]
) -> WriteResult | None:
    """Add bare vectors with fresh ids in one transaction; None when the call needs the
    general path (see the module). Bad vectors raise here, as on the general path."""
    if any(columns.get(c) is not None for c in OTHER_COLUMNS):
        return None
    vectors, ids = columns.get("vectors"), columns.get("ids")
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or not isinstance(ids, list):
        return None
    if len(ids) != len(vectors) or not _plain_ids(ids):
        return None
    block = vector_block(vectors, settings.dim, settings.normalize)
    if block is None or len(block) == 0:
        return None
    cid = settings.id
    with store.session() as s:
        if sql.existing(s, cid, ids):
            return None  # add() refuses taken ids; the general path says which
    hashes = [content_hash("vector", row.tobytes()) for row in block]
    try:
        with keeper.writing() as s:
            seq = sql.bump_seq(s, cid)
            new_ids = bulk_items.insert_vector_items(
                s, cid, seq, ids, hashes, block, settings.default_acl, utcnow()
            )
    except IntegrityError as exc:  # another writer took one of these ids meanwhile
        raise DuplicateIdError(
            f"another writer added some of these ids to {settings.name!r} at the same time; "
            "retry with upsert()"
        ) from exc
    keeper.apply(seq, add=(new_ids, block))
    return WriteResult(added=len(ids), ids=tuple(ids))


def _plain_ids(ids: list[Any]) -> bool:
    """True when every id is a distinct, non-blank string that `records` would accept."""
    if len(set(ids)) != len(ids):
        return False
    for v in ids:
        if type(v) is not str or not v.strip() or len(v) > MAX_ID_LENGTH:
            return False
        if not v.isascii() and text_problem(v) is not None:
            return False
        if "\x00" in v:
            return False
    return True
