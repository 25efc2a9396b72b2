"""`Collection`: one latent space, with its encoder, its FAISS index and its rows in SQL.

A thin facade over the parts in `latentsearch.core` (`CollectionParts`): the `IndexKeeper`
(the derived FAISS index), the `Writer` (validate, embed, write) and the query `Space` that
`latentsearch.query` ranks over. Writes go to SQL first, then to the index, which is saved
atomically with the write sequence number it reflects; reopening replays what it missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from latentsearch.checks import MAX_K, check_k, check_recall
from latentsearch.core import reads
from latentsearch.core.encoder_slot import check_identity
from latentsearch.core.parts import CollectionParts
from latentsearch.encoders import Encoder, EncoderIdentity
from latentsearch.explore_view import ExploreView
from latentsearch.index import VectorIndex
from latentsearch.index.tuning import Tuning
from latentsearch.results import IndexInfo, WriteResult
from latentsearch.store import CollectionRow

__all__ = [
    "MAX_K",
    "Collection",
    "CollectionInfo",
    "IndexInfo",
    "check_identity",
    "check_k",
    "check_recall",
]


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """What `Database.collections()` lists."""

    name: str
    encoder: EncoderIdentity | None
    dim: int
    metric: str
    index: str
    count: int
    created: datetime
    require_principals: bool
    # Issue 12: what admin tools read without opening the collection (as `Collection.id` and
    # `Collection.options`).
    id: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, r: CollectionRow, count: int) -> CollectionInfo:
        """The listing of the collection stored as ``r`` holding ``count`` items."""
        return cls(
            name=r.name,
            encoder=EncoderIdentity.from_dict(r.encoder) if r.encoder else None,
            dim=r.dim,
            metric=r.metric,
            index=str((r.options or {}).get("active_index") or r.index_spec),
            count=count,
            created=r.created,
            require_principals=r.require_principals,
            id=r.id,
            options=dict(r.options or {}),
        )


class Collection(ExploreView):
    """A named set of items in one latent space. Get one from `Database`; don't construct it.

    Its searches and latent operations are those of `CollectionView`, its maps, clusters, axes
    and samples those of `ExploreView`; it adds writes and the
    upkeep of its FAISS index, carried out by its parts (`latentsearch.core.parts`).
    """

    def __init__(self, parts: CollectionParts) -> None:
        st = parts.settings
        self.name = st.name
        self.dim = st.dim
        self.metric = st.metric
        self.index_spec = st.index_spec  # "auto" or the FAISS factory string asked for
        self.identity = st.identity  # the encoder's identity (None: bring-your-own vectors)
        self.require_principals = st.require_principals
        self.options: dict[str, Any] = st.options  # default ACL, recall target, index choice
        super().__init__(parts.space)
        self._parts, self._settings = parts, st
        self._keeper, self._writer = parts.keeper, parts.writer

    @property
    def id(self) -> int:
        """The collection's numeric id in the store (stable for its lifetime)."""
        return self._settings.id

    @property
    def default_acl(self) -> list[str]:
        return self._settings.default_acl

    @property
    def recall_target(self) -> float:
        return self._settings.recall_target

    @property
    def encoder(self) -> Encoder:
        """The collection's encoder, loaded on first use and checked against the recorded identity."""
        return self._parts.encoders.get()

    @property
    def index(self) -> VectorIndex:
        """The FAISS index (derived from the store; kept in step with it)."""
        self._keeper.sync()
        return self._keeper.current()

    def __len__(self) -> int:
        return reads.count(self._space, None)  # every item, whatever require_principals says

    def __repr__(self) -> str:
        model = self.identity.model if self.identity else "vectors"
        spec = self._keeper.current().spec
        return f"<Collection {self.name!r} {model} dim={self.dim} index={spec}>"

    # -- writes ---------------------------------------------------------------------------
    def add(
        self,
        records: Sequence[Mapping[str, Any]] | None = None,
        *,
        texts: Sequence[str] | None = None,
        images: Sequence[str | Path | Image.Image] | None = None,
        vectors: Any = None,
        ids: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        acl: Sequence[Sequence[str] | None] | None = None,
        sources: Sequence[Mapping[str, Any] | None] | None = None,
        principals: Sequence[str] | None = None,
    ) -> WriteResult:
        """Add new items. Any id that already exists makes the whole call fail (use `upsert`).

        ``principals``: who is writing (see `upsert`); None (the default) is unrestricted.
        """
        return self._writer.write(
            records,
            upsert=False,
            principals=principals,
            texts=texts,
            images=images,
            vectors=vectors,
            ids=ids,
            metadata=metadata,
            acl=acl,
            sources=sources,
        )

    def upsert(
        self,
        records: Sequence[Mapping[str, Any]] | None = None,
        *,
        texts: Sequence[str] | None = None,
        images: Sequence[str | Path | Image.Image] | None = None,
        vectors: Any = None,
        ids: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        acl: Sequence[Sequence[str] | None] | None = None,
        sources: Sequence[Mapping[str, Any] | None] | None = None,
        principals: Sequence[str] | None = None,
    ) -> WriteResult:
        """Add or update items. Content that is unchanged (same hash) is never re-embedded.

        ``records`` with ``vectors=`` (an ``(n, dim)`` array, one row per record): the records'
        texts or images were embedded elsewhere with this collection's encoder (a distributed
        build's encoder actors); those vectors are stored instead of encoding them here.

        ``principals``: who is writing. None (the default) is unrestricted (the library's owner,
        an admin key). Given, the call may change only items those principals can see (the read
        rule): an id naming a hidden item fails the whole call with the same `DuplicateIdError`
        as `add` gives for any existing id, and records without an id never land on a hidden
        item (see `latentsearch.core.write_rules`).
        """
        return self._writer.write(
            records,
            upsert=True,
            principals=principals,
            texts=texts,
            images=images,
            vectors=vectors,
            ids=ids,
            metadata=metadata,
            acl=acl,
            sources=sources,
        )

    def delete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Sequence[str] | None = None,
    ) -> WriteResult:
        """Delete items by id, or every item matching a filter (``where={}`` matches all), and the
        chunks of those documents. Unknown ids are ignored; ``ids`` of the result are the named
        (or matched) items that were deleted, ``deleted`` counts chunks too.

        ``principals``: who is deleting; None (the default) is unrestricted. Given, only items
        those principals can see are deleted: a hidden id is ignored like an unknown one, ``where``
        matches visible items only, and a visible document's hidden chunks stay.
        """
        return self._writer.delete(ids, where=where, principals=principals)

    # -- the index ------------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the FAISS index up to date with the store (writes by other processes); return the seq."""
        return self._keeper.sync()

    def flush(self) -> None:
        """Save the index now: wait for background index work, then rebuild, retrain, compact or
        re-tune first when due."""
        self._keeper.flush()

    def rebuild(self) -> None:
        """Rebuild the FAISS index from the vectors stored in SQL (re-choosing and re-tuning it)."""
        self._keeper.rebuild()

    def heal(self) -> int:
        """On a sharded collection (``cluster=``): start again every shard replica that was
        stopped for good (``ray.kill``, a drop elsewhere); each catches up from the store before
        it answers. Returns how many were started (0 without a cluster: nothing to heal)."""
        heal = getattr(self._keeper, "heal", None)
        return int(heal()) if heal is not None else 0

    def verify(self) -> bool:
        """True when the FAISS index holds exactly the store's items."""
        return self._keeper.verify()

    def tune(self, recall_target: float | None = None) -> Tuning:
        """Measure recall on a sample of the collection's own vectors and set nprobe / efSearch.

        ``recall_target`` (0 < r ≤ 1) replaces the collection's target when given.
        """
        return self._keeper.tune(recall_target)

    def index_info(self) -> IndexInfo:
        """The index in use, why it was chosen, its search parameters and measured recall."""
        return self._keeper.info()

    def wait_for_maintenance(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild or re-tune to finish (`flush` does this first)."""
        self._keeper.wait_for_maintenance(timeout)

    def close(self) -> None:
        """Stop background index work and save the index (`Database.close` does this for every
        open collection; the collection is not used afterwards)."""
        self._keeper.close()
