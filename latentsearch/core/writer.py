"""`Writer`: a collection's writes (add, upsert, delete) as validate, embed, write, mirror.

1. validate: the arguments become `records.NewItem`s (every check that can fail runs before
   the store is touched) and the write rule (`write_rules`) decides the ids the caller may use;
2. embed: what changed (by content hash) is encoded, outside any transaction or lock;
3. write: rows, principals and vectors commit in one transaction that bumps the collection's
   seq, inside `Keeper.writing()` (connection first, then the collection lock), where the
   write rule is checked again (ids or ACLs may have changed meanwhile);
4. mirror: the committed change goes to the index keeper (`Keeper.apply`).

It needs no `Database`: a `Store`, a `Keeper`, the collection's settings and an encoder provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from latentsearch.checks import id_list
from latentsearch.core.bulk import bulk_add
from latentsearch.core.protocol import Keeper
from latentsearch.core.records import NewItem, normalise, rows_from_columns, vector_block
from latentsearch.core.settings import CollectionSettings
from latentsearch.core.write_rules import check_writable, derive_ids, write_access
from latentsearch.encoders import Encoder
from latentsearch.errors import DuplicateIdError, EncoderError, InvalidInputError, StoreError
from latentsearch.results import WriteResult
from latentsearch.store import ItemRow, Store, opening
from latentsearch.store import items as sql
from latentsearch.store.acl import Access, visible_row
from latentsearch.store.filters import compile_where, matching_ids
from latentsearch.store.models import utcnow

COLUMNS = ("texts", "images", "vectors", "ids", "metadata", "acl", "sources")


class Writer:
    """Writes to one collection. ``encoder()`` is called only when something needs encoding."""

    def __init__(
        self,
        store: Store,
        keeper: Keeper,
        settings: CollectionSettings,
        encoder: Callable[[], Encoder],
    ) -> None:
        self.store = store
        self.keeper = keeper
        self.settings = settings
        self.encoder = encoder

    def require_writable(self, action: str) -> None:
        """Raise `ReadOnlyError` (before any work is done) when the store is read-only."""
        if self.store.read_only_reason is not None:
            raise opening.refused(self.store.read_only_reason, action)

    def write(
        self,
        records: Any = None,
        *,
        upsert: bool,
        principals: Any = None,
        **columns: Any,
    ) -> WriteResult:
        """`Collection.add` (``upsert=False``) or `Collection.upsert`: ``records`` (a list of
        dicts) or keyword ``columns`` (``texts``, ``images``, ``vectors``, ``ids``,
        ``metadata``, ``acl``, ``sources``), written as ``principals`` may (None: anything)."""
        self.require_writable(f"write to collection {self.settings.name!r}")  # before encoding
        acc = write_access(principals, self.settings.name)
        if records is None and not upsert and acc.principals is None:
            done = bulk_add(self.store, self.keeper, self.settings, columns)
            if done is not None:  # bare vectors with fresh ids: written in one block
                return done
        items, derived = self.prepare(records, **columns)
        return self._write(items, derived, upsert=upsert, acc=acc)

    def delete(
        self,
        ids: Any = None,
        *,
        where: Mapping[str, Any] | None = None,
        principals: Any = None,
    ) -> WriteResult:
        """`Collection.delete`: by ids or by filter, visible items only when ``principals``."""
        if (ids is None) == (where is None):
            raise InvalidInputError("give ids=[...] or where={...} (where={} deletes every item)")
        cid, name = self.settings.id, self.settings.name
        self.require_writable(f"delete from collection {name!r}")
        acc = write_access(principals, name)
        clause = compile_where(where, cid) if where is not None else None  # FilterError first
        if where is not None and acc.principals is not None:
            seen = visible_row(acc.principals)
            clause = seen if clause is None else clause & seen
        ext = id_list(ids) if ids is not None else []
        with self.keeper.writing() as s:
            if ids is None:
                ext = matching_ids(s, cid, clause)
            found = sql.find_for_delete(s, cid, ext, acc.principals)
            if not found:
                return WriteResult()
            pks = [pk for pk, _ in found]
            seq = sql.bump_seq(s, cid)
            sql.delete_items(s, cid, seq, pks)
        self.keeper.apply(seq, remove=np.asarray(pks, dtype=np.int64))
        gone = {e for _, e in found}
        return WriteResult(deleted=len(pks), ids=tuple(e for e in dict.fromkeys(ext) if e in gone))

    def prepare(self, records: Any = None, **columns: Any) -> tuple[list[NewItem], list[bool]]:
        """Validated items, and for each whether its id was derived from its content."""
        st = self.settings
        block = None  # vectors= as one validated, normalised array (the fast path)
        embedded = None  # records + vectors=: their embeddings, computed elsewhere
        if records is not None:
            if any(columns.get(c) is not None for c in COLUMNS if c != "vectors"):
                raise InvalidInputError("give either a list of records or keyword lists, not both")
            if columns.get("vectors") is not None:
                embedded = vector_block(columns["vectors"], st.dim, st.normalize)
                if embedded is None:
                    raise InvalidInputError(
                        "vectors= with records must be a 2-d numpy array, one row per record"
                    )
            if isinstance(records, str | Mapping):
                raise InvalidInputError("records must be a list of dicts")
            rows = list(records)
        else:
            if columns.get("texts") is None and columns.get("images") is None:
                block = vector_block(columns.get("vectors"), st.dim, st.normalize)
            if block is not None:
                columns["vectors"] = block
            rows = rows_from_columns(**{c: columns.get(c) for c in COLUMNS})
        needs = {
            k
            for r in rows
            if isinstance(r, Mapping)
            for k in ("text", "image")
            if r.get(k) is not None
        }
        if needs and st.identity is None:
            raise InvalidInputError(
                f"collection {st.name!r} stores raw vectors; it cannot embed "
                f"{' or '.join(sorted(needs))}"
            )
        if "image" in needs and not self.encoder().supports_images:
            self.encoder().encode_images([])  # raises UnsupportedModalityError with the fix
        items = normalise(
            rows,
            dim=st.dim,
            normalize=st.normalize and block is None,
            default_acl=st.default_acl,
            vectors_checked=block is not None,
        )
        if embedded is not None:
            attach_embeddings(items, embedded)
        return items, [r.get("id") is None for r in rows]

    def _write(
        self, items: list[NewItem], derived: list[bool], *, upsert: bool, acc: Access
    ) -> WriteResult:
        if not items:
            return WriteResult()
        cid, name = self.settings.id, self.settings.name
        with self.store.session() as s:
            derive_ids(s, cid, items, derived, acc)
            found = sql.existing(s, cid, [it.external_id for it in items])
            check_writable(s, name, found, upsert=upsert, acc=acc)
        changed = [
            it.external_id not in found or found[it.external_id].content_hash != it.content_hash
            for it in items
        ]
        fresh = [it for it, c in zip(items, changed, strict=True) if c]
        same = [it for it, c in zip(items, changed, strict=True) if not c]
        vectors = self.embed(fresh)  # the slow part, outside any transaction
        now = utcnow()
        try:
            with self.keeper.writing() as s:
                seq = sql.bump_seq(s, cid)
                current = sql.existing(s, cid, [it.external_id for it in items])
                # again under the write lock: ids or ACLs may have changed since the check above
                check_writable(s, name, current, upsert=upsert, acc=acc)
                if any(it.external_id not in current for it in same):
                    raise StoreError(
                        "another writer deleted some of these items meanwhile; retry the call"
                    )
                replaced = [current[it.external_id] for it in fresh if it.external_id in current]
                if replaced:
                    sql.delete_items(s, cid, seq, [r.id for r in replaced])
                created = {r.external_id: r.created for r in replaced}
                rows = [_row(cid, seq, it, created.get(it.external_id, now), now) for it in fresh]
                new_ids = sql.insert_items(s, rows, vectors, [it.acl or [] for it in fresh])
                touched = _touch(s, same, current, now)
        except IntegrityError as exc:
            raise DuplicateIdError(
                f"another writer added some of these ids to {name!r} at the same time; "
                "retry with upsert()"
            ) from exc
        removed = np.asarray([r.id for r in replaced], dtype=np.int64)
        self.keeper.apply(seq, add=(new_ids, vectors), remove=removed)
        return WriteResult(
            added=len(fresh) - len(replaced),
            updated=len(replaced) + touched,
            unchanged=len(same) - touched,
            ids=tuple(it.external_id for it in items),
        )

    def embed(self, items: list[NewItem]) -> np.ndarray:
        """The vectors of ``items``: given ones as they are, texts and images encoded (one
        encoder call per modality)."""
        out = np.zeros((len(items), self.settings.dim), dtype=np.float32)
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
            else:
                given = [i for i in idx if items[i].vector is not None]  # embedded elsewhere
                if given:
                    out[given] = np.stack([items[i].vector for i in given])  # type: ignore[misc]
                idx = [i for i in idx if items[i].vector is None]
                if idx and kind == "text":
                    out[idx] = self.encoder().encode_texts([items[i].text or "" for i in idx])
                elif idx:
                    out[idx] = self.encoder().encode_images([items[i].image for i in idx])  # type: ignore[misc]
        if not np.isfinite(out).all():
            raise EncoderError("the encoder produced NaN or infinite values; nothing was written")
        return out


def _touch(s: Session, same: list[NewItem], current: dict[str, ItemRow], now: datetime) -> int:
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


def attach_embeddings(items: list[NewItem], embedded: np.ndarray) -> None:
    """Give text and image items the embeddings their caller computed (a distributed build's
    encoder actors), so `embed` uses them instead of the encoder. The content hash stays that of
    the text or image: an unchanged item is still never re-embedded, whoever embedded it."""
    if len(embedded) != len(items):
        raise InvalidInputError(
            f"vectors= has {len(embedded)} rows but there are {len(items)} records; give one per record"
        )
    for i, it in enumerate(items):
        if it.kind == "vector":
            raise InvalidInputError(
                f"record {i} holds a vector already; vectors= with records embeds texts or images"
            )
        it.vector = embedded[i]
