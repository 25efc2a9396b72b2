"""`CollectionParts`: the objects a `Collection` is made of, and `assemble`, which builds them.

`Database` calls `assemble` for each collection it opens; tests call it with a `Store` of their
own. Nothing here needs a `Database`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from latentsearch.core.encoder_slot import EncoderSlot
from latentsearch.core.keeper import IndexKeeper
from latentsearch.core.settings import CollectionSettings
from latentsearch.core.writer import Writer
from latentsearch.query.space import Space
from latentsearch.store import Store

if TYPE_CHECKING:  # the cluster package is imported only for a database with a cluster
    from latentsearch.core.cluster.connection import Cluster
    from latentsearch.core.cluster.keeper import ShardedKeeper


@dataclass(frozen=True, slots=True)
class CollectionParts:
    """One open collection: its settings, store, encoder, index keeper, writer and query space."""

    settings: CollectionSettings
    store: Store
    encoders: EncoderSlot
    keeper: IndexKeeper | ShardedKeeper
    writer: Writer
    space: Space


def assemble(
    store: Store,
    folder: Path,
    settings: CollectionSettings,
    encoders: EncoderSlot,
    *,
    device: str = "auto",
    read_only: bool = False,
    cluster: Cluster | None = None,
) -> CollectionParts:
    """Open the collection's index (load, replay or build it) and build the parts around it.

    With a ``cluster`` the index is sharded and replicated over it (`ShardedKeeper`, with the
    collection's ``shards`` and ``replicas`` options); without, it lives in this process (a
    collection created with shards is then served whole, from the same store)."""
    keeper: IndexKeeper | ShardedKeeper
    if cluster is not None:
        from latentsearch.core.cluster.keeper import ShardedKeeper

        keeper = ShardedKeeper(store, folder, settings, cluster, device=device, read_only=read_only)
    else:
        keeper = IndexKeeper(store, folder, settings, device=device, read_only=read_only)
    space = Space(
        store=store,
        collection_id=settings.id,
        name=settings.name,
        dim=settings.dim,
        metric=settings.metric,
        identity=settings.identity,
        require_principals=settings.require_principals,
        keeper=keeper,
        encoder=encoders.get,
    )
    writer = Writer(store, keeper, settings, encoders.get)
    return CollectionParts(settings, store, encoders, keeper, writer, space)
