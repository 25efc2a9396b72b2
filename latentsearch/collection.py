"""`Collection`: one latent space, with its encoder, its FAISS index and its rows in SQL.

Writes go to SQL first (rows, principals and vectors in one transaction), then to the FAISS
index, which is derived and saved atomically with the write sequence number it reflects.
Reopening a collection whose index lags the store replays what it missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from latentsearch.collection_index import IndexInfo, IndexKeeping
from latentsearch.collection_query import MAX_K, QueryMethods, check_k, id_list
from latentsearch.collection_writes import check_writable, derive_ids, write_access
from latentsearch.encoders import Encoder, EncoderIdentity, get_encoder
from latentsearch.errors import (
    CollectionNotFoundError,
    DuplicateIdError,
    EncoderError,
    EncoderMismatchError,
    InvalidInputError,
    StoreError,
)
from latentsearch.index import VectorIndex
from latentsearch.ingest.records import NewItem, normalise, rows_from_columns, vector_block
from latentsearch.query.space import Space
from latentsearch.results import WriteResult
from latentsearch.store import CollectionRow, ItemRow
from latentsearch.store import items as sql
from latentsearch.store.acl import Access, visible_row
from latentsearch.store.filters import compile_where, matching_ids
from latentsearch.store.models import utcnow

if TYPE_CHECKING:
    from latentsearch.db import Database

log = logging.getLogger(__name__)

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


class Collection(QueryMethods, IndexKeeping):
    """A named set of items in one latent space. Get one from `Database`; don't construct it."""

    def __init__(
        self, db: Database, row: CollectionRow, encoder: Encoder | None, device: str
    ) -> None:
        self._db = db
        self._id = row.id
        self.name = row.name
        self.dim = row.dim
        self.metric = row.metric
        self.index_spec = row.index_spec
        self.require_principals = row.require_principals
        self.options: dict[str, Any] = dict(row.options or {})
        self.identity = EncoderIdentity.from_dict(row.encoder) if row.encoder else None
        self._encoder = encoder
        self._device = device
        self._lock = threading.RLock()
        self._last_save = 0.0
        self._dirty = False
        self._worker: threading.Thread | None = None
        self._cancel = threading.Event()
        self._index, self._checkpoint = self._open_index()
        self._space = Space(
            store=db.store,
            collection_id=row.id,
            name=row.name,
            dim=row.dim,
            metric=row.metric,
            identity=self.identity,
            require_principals=row.require_principals,
            lock=self._lock,
            index=lambda: self._index,
            sync=self._sync,
            encoder=lambda: self.encoder,
        )

    # -- public: basics ---------------------------------------------------------------
    def __len__(self) -> int:
        with self._db.store.session() as s:
            return sql.count(s, self._id)

    def __repr__(self) -> str:
        model = self.identity.model if self.identity else "vectors"
        return f"<Collection {self.name!r} {model} dim={self.dim} index={self._index.spec}>"

    @property
    def encoder(self) -> Encoder:
        """The collection's encoder, loaded on first use and checked against the recorded identity."""
        if self._encoder is None:
            if self.identity is None:
                raise EncoderError(
                    f"collection {self.name!r} stores raw vectors (dim={self.dim}); pass numpy vectors, not text or images"
                )
            enc = get_encoder(
                self.identity.spec,
                device=self._device,
                batch_size=self._db.batch_size,
                normalize=self.identity.normalize,
                backend=self._db.encoder_backend,
            )
            check_identity(self.name, self.identity, enc.identity)
            enc.query_cache.resize(self._db.query_cache_size)
            self._encoder = enc
        return self._encoder

    @property
    def index(self) -> VectorIndex:
        """The FAISS index (derived from the store; kept in step with it)."""
        self.sync()
        return self._index

    @property
    def default_acl(self) -> list[str]:
        return list(self.options.get("default_acl", ["*"]))

    # -- public: writes ---------------------------------------------------------------
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
        self._db.require_writable(f"write to collection {self.name!r}")  # before any encoding
        acc = write_access(principals, self.name)
        items, derived = self._prepare(records, texts, images, vectors, ids, metadata, acl, sources)
        return self._write(items, derived, upsert=False, acc=acc)

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

        ``principals``: who is writing. None (the default) is unrestricted (the library's owner,
        an admin key). Given, the call may change only items those principals can see (the read
        rule): an id naming a hidden item fails the whole call with the same `DuplicateIdError`
        as `add` gives for any existing id, and records without an id never land on a hidden
        item (see `latentsearch.collection_writes`).
        """
        self._db.require_writable(f"write to collection {self.name!r}")  # before any encoding
        acc = write_access(principals, self.name)
        items, derived = self._prepare(records, texts, images, vectors, ids, metadata, acl, sources)
        return self._write(items, derived, upsert=True, acc=acc)

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
        if (ids is None) == (where is None):
            raise InvalidInputError("give ids=[...] or where={...} (where={} deletes every item)")
        self._db.require_writable(f"delete from collection {self.name!r}")
        acc = write_access(principals, self.name)
        clause = (
            compile_where(where, self._id) if where is not None else None
        )  # FilterError before any write
        if where is not None and acc.principals is not None:
            seen = visible_row(acc.principals)
            clause = seen if clause is None else clause & seen
        with self._lock, self._db.store.transaction() as s:
            ext = id_list(ids) if ids is not None else matching_ids(s, self._id, clause)
            found = sql.find_for_delete(s, self._id, ext, acc.principals)
            if not found:
                return WriteResult()
            pks = [pk for pk, _ in found]
            seq = sql.bump_seq(s, self._id)
            sql.delete_items(s, self._id, seq, pks)
        self._apply(seq, remove=np.asarray(pks, dtype=np.int64))
        gone = {e for _, e in found}
        return WriteResult(deleted=len(pks), ids=tuple(e for e in dict.fromkeys(ext) if e in gone))

    # -- public: maintenance ----------------------------------------------------------
    def sync(self) -> int:
        """Bring the FAISS index up to date with the store (writes by other processes); return the seq."""
        with self._db.store.session() as s:
            return self._sync(s)

    def _sync(self, s: Session) -> int:
        with self._lock:
            seq = sql.current_seq(s, self._id)
            if seq is None:
                raise CollectionNotFoundError(f"collection {self.name!r} was dropped")
            if seq != self._checkpoint:
                self._catch_up(s, seq)
            return seq

    def flush(self) -> None:
        """Save the index now: wait for background index work, then rebuild, retrain, compact or
        re-tune first when due."""
        self.wait_for_maintenance()
        with self._lock:
            self.sync()
            self._maintain()
            self._save()

    def rebuild(self) -> None:
        """Rebuild the FAISS index from the vectors stored in SQL (re-choosing and re-tuning it)."""
        self.wait_for_maintenance()
        with self._lock:
            self._index, self._checkpoint = self._build_from_store()
            self._save()

    def verify(self) -> bool:
        """True when the FAISS index holds exactly the store's items."""
        with self._lock, self._db.store.session() as s:
            self.sync()
            return bool(np.array_equal(self._index.ids(), sql.all_ids(s, self._id)))

    # -- internals: writes ------------------------------------------------------------
    def _prepare(
        self,
        records: Any,
        texts: Any,
        images: Any,
        vectors: Any,
        ids: Any,
        metadata: Any,
        acl: Any,
        sources: Any,
    ) -> tuple[list[NewItem], list[bool]]:
        """Validated items, and for each whether its id was derived from its content."""
        block = None  # vectors= as one validated, normalised array (the fast path)
        if records is not None:
            if any(v is not None for v in (texts, images, vectors, ids, metadata, acl, sources)):
                raise InvalidInputError("give either a list of records or keyword lists, not both")
            if isinstance(records, str | Mapping):
                raise InvalidInputError("records must be a list of dicts")
            rows = list(records)
        else:
            if texts is None and images is None:
                block = vector_block(vectors, self.dim, self.metric == "cosine")
            rows = rows_from_columns(
                texts=texts,
                images=images,
                vectors=vectors if block is None else block,
                ids=ids,
                metadata=metadata,
                acl=acl,
                sources=sources,
            )
        needs = {
            k
            for r in rows
            if isinstance(r, Mapping)
            for k in ("text", "image")
            if r.get(k) is not None
        }
        if needs and self.identity is None:
            raise InvalidInputError(
                f"collection {self.name!r} stores raw vectors; it cannot embed {' or '.join(sorted(needs))}"
            )
        if "image" in needs and not self.encoder.supports_images:
            self.encoder.encode_images([])  # raises UnsupportedModalityError with the fix
        items = normalise(
            rows,
            dim=self.dim,
            normalize=self.metric == "cosine" and block is None,
            default_acl=self.default_acl,
            vectors_checked=block is not None,
        )
        return items, [r.get("id") is None for r in rows]

    def _write(
        self, items: list[NewItem], derived: list[bool], *, upsert: bool, acc: Access
    ) -> WriteResult:
        if not items:
            return WriteResult()
        with self._db.store.session() as s:
            derive_ids(s, self._id, items, derived, acc)
            found = sql.existing(s, self._id, [it.external_id for it in items])
            check_writable(s, self.name, found, upsert=upsert, acc=acc)
        changed = [
            it.external_id not in found or found[it.external_id].content_hash != it.content_hash
            for it in items
        ]
        fresh = [it for it, c in zip(items, changed, strict=True) if c]
        same = [it for it, c in zip(items, changed, strict=True) if not c]
        vectors = self._embed(fresh)  # the slow part, outside any transaction
        now = utcnow()
        try:
            with self._lock, self._db.store.transaction() as s:
                seq = sql.bump_seq(s, self._id)
                current = sql.existing(s, self._id, [it.external_id for it in items])
                # again under the write lock: ids or ACLs may have changed since the check above
                check_writable(s, self.name, current, upsert=upsert, acc=acc)
                if any(it.external_id not in current for it in same):
                    raise StoreError(
                        "another writer deleted some of these items meanwhile; retry the call"
                    )
                replaced = [current[it.external_id] for it in fresh if it.external_id in current]
                if replaced:
                    sql.delete_items(s, self._id, seq, [r.id for r in replaced])
                created = {r.external_id: r.created for r in replaced}
                rows = [
                    _row(self._id, seq, it, created.get(it.external_id, now), now) for it in fresh
                ]
                new_ids = sql.insert_items(s, rows, vectors, [it.acl or [] for it in fresh])
                touched = self._touch(s, same, current, now)
        except IntegrityError as exc:
            raise DuplicateIdError(
                f"another writer added some of these ids to {self.name!r} at the same time; retry with upsert()"
            ) from exc
        removed = np.asarray([r.id for r in replaced], dtype=np.int64)
        self._apply(seq, add=(new_ids, vectors), remove=removed)
        return WriteResult(
            added=len(fresh) - len(replaced),
            updated=len(replaced) + touched,
            unchanged=len(same) - touched,
            ids=tuple(it.external_id for it in items),
        )

    def _touch(
        self, s: Any, same: list[NewItem], current: dict[str, ItemRow], now: datetime
    ) -> int:
        """Update metadata, ACL and source of items whose content is unchanged; count real changes."""
        changed = 0
        for it in same:
            row = current[it.external_id]
            values = {
                "meta": it.metadata,
                "source_uri": it.source_uri,
                "source_title": it.source_title,
                "parent_id": it.parent_id,
                "chunk_start": it.chunk_start,
                "chunk_end": it.chunk_end,
            }
            old_acl = sql.principals_of(s, [row.id])[row.id]
            if any(getattr(row, k) != v for k, v in values.items()) or old_acl != (it.acl or []):
                sql.touch(s, row.id, values, now)
                sql.set_principals(s, [row.id], [it.acl or []], replace=True)
                changed += 1
        return changed

    def _embed(self, items: list[NewItem]) -> np.ndarray:
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        groups: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(it.kind, []).append(i)
        for kind, idx in groups.items():
            if kind == "vector":
                vecs = [items[i].vector for i in idx]
                if len(idx) == len(items):
                    np.stack(vecs, out=out)  # type: ignore[arg-type]
                else:
                    out[idx] = np.stack(vecs)  # type: ignore[arg-type]
            elif kind == "text":
                out[idx] = self.encoder.encode_texts([items[i].text or "" for i in idx])
            else:
                out[idx] = self.encoder.encode_images([items[i].image for i in idx])  # type: ignore[misc]
        if not np.isfinite(out).all():
            raise EncoderError("the encoder produced NaN or infinite values; nothing was written")
        return out

    def _apply(
        self,
        seq: int,
        *,
        add: tuple[np.ndarray, np.ndarray] | None = None,
        remove: np.ndarray | None = None,
    ) -> None:
        """Mirror a committed write into the index (or catch up if someone else wrote meanwhile)."""
        with self._lock:
            if self._checkpoint != seq - 1:
                self.sync()
            else:
                if remove is not None and len(remove):
                    self._index.remove(remove)
                if add is not None and len(add[0]):
                    self._index.add(*add)
                self._checkpoint = seq
            self._dirty = True
            self._maybe_save()
            self._schedule_maintenance()

    def _close(self) -> None:
        self._cancel.set()  # a background rebuild gives up: the store is the source of truth
        self.wait_for_maintenance()
        with self._lock:
            self._save()


def check_recall(value: Any) -> float:
    """A recall target: a number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InvalidInputError(f"recall_target must be a number in (0, 1], not {value!r}")
    return float(value)


def check_identity(name: str, recorded: EncoderIdentity, given: EncoderIdentity) -> None:
    if not recorded.same_space(given):
        raise EncoderMismatchError(
            f"collection {name!r} was built with {recorded.model} (dim {recorded.dim}, fingerprint "
            f"{recorded.fingerprint}); the encoder given is {given.model} (dim {given.dim}, fingerprint "
            f"{given.fingerprint}). Vectors from different models never mix: open it with the original "
            "encoder, or create a new collection."
        )


def _row(
    collection_id: int, seq: int, it: NewItem, created: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "collection_id": collection_id,
        "external_id": it.external_id,
        "kind": it.kind,
        "text": it.text,
        "content_ref": it.content_ref,
        "source_uri": it.source_uri,
        "source_title": it.source_title,
        "parent_id": it.parent_id,
        "chunk_start": it.chunk_start,
        "chunk_end": it.chunk_end,
        "meta": it.metadata,
        "content_hash": it.content_hash,
        "seq": seq,
        "created": created,
        "updated": now,
    }
