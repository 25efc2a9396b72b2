"""Opening a collection for the read commands: query texts embedded once, then read from disk.

A ``latentsearch search`` process embeds one query and exits, so the encoder's in-memory cache
never serves it again. Here the collection's encoder is a `DeferredEncoder`: a text searched
before is read from ``query-vectors.sqlite`` in the index folder (exactly the vector the model
gave then), and the model loads only for a text it has not embedded yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentsearch.cli.common import open_collection

if TYPE_CHECKING:
    from latentsearch import Collection, Database


def open_for_queries(db: Database, name: str) -> Collection:
    """`open_collection`, with the query-vector file of ``db``'s folder in front of the model
    (read only, never written, when the index is open read-only)."""
    from latentsearch.encoders.deferred import deferred

    col = open_collection(db, name)
    if col.identity is None:  # raw vectors: nothing to embed
        return col
    encoder = deferred(
        col.identity,
        folder=db.path,
        device=db.device,
        backend=db.encoder_backend,
        batch_size=db.batch_size,
        writable=not db.read_only,
    )
    return db.collection(name, encoder=encoder)
