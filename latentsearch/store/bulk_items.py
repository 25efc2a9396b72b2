"""The bulk insert of bare vectors: every table filled with the driver's executemany.

A 10M-vector load spends most of its time here, so it skips what `items.insert_items` does per
item (a dict and an ORM object each); see `core.bulk` for when a write takes this path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.store.items import CHUNK, insert_plain, reserve_ids


def insert_vector_items(
    s: Session,
    collection_id: int,
    seq: int,
    external_ids: Sequence[str],
    hashes: Sequence[str],
    vectors: np.ndarray,
    acl: Sequence[str],
    now: datetime,
) -> np.ndarray:
    """The bulk path of `insert_items` for bare vectors (ids, no metadata, one ACL for all):
    every table is filled with the driver's executemany over plain tuples, without a dict or
    an ORM object per item, in the caller's one transaction. Returns the new primary keys.

    Rows are the same as `insert_items` writes for such items (kind ``vector``, metadata
    ``{}``, SQLAlchemy's SQLite datetime text or a PostgreSQL timestamp).
    """
    n = len(external_ids)
    ids = reserve_ids(s, n)
    pg = s.get_bind().dialect.name == "postgresql"
    # SQLAlchemy's own SQLite DATETIME format, so the ORM reads these rows like its own
    stamp: Any = now if pg else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    cols = ("id", "collection_id", "external_id", "kind", "metadata", "content_hash", "seq")
    rows = [
        (pk, collection_id, ext, "vector", "{}", h, seq, stamp, stamp)
        for pk, ext, h in zip(ids.tolist(), external_ids, hashes, strict=True)
    ]
    insert_plain(s, "ls_items", (*cols, "created", "updated"), rows, json_column=4)
    del rows
    buf = np.ascontiguousarray(vectors, dtype="<f4")
    pks = ids.tolist()
    for lo in range(0, n, CHUNK):
        blobs = map(bytes, buf[lo : lo + CHUNK])
        insert_plain(
            s,
            "ls_vectors",
            ("item_id", "data"),
            list(zip(pks[lo : lo + CHUNK], blobs, strict=True)),
        )
    insert_plain(
        s, "ls_item_principals", ("item_id", "principal"), [(pk, p) for pk in pks for p in acl]
    )
    return ids
