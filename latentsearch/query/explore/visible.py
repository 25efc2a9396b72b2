"""The explorer's input: the caller's visible items (or documents), with vectors and what a map shows.

Everything the explorer computes starts from a `Visible` read here through the same scope as a
search (`search.scope_of`: the filter and the caller's principals, decided in SQL), so nothing
hidden ever enters a map, a clustering, an axis or a sample. Items are ordered by external id,
not by primary key: the same visible set gives the same order, and so the same map, whatever
hidden items or deleted rows lie between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.errors import InvalidInputError
from latentsearch.query.hits import HitRow, rows_for
from latentsearch.query.planner import Scope
from latentsearch.query.search import scope_of
from latentsearch.query.space import Space
from latentsearch.store import items as sql
from latentsearch.store.acl import Access
from latentsearch.vectors import unit_rows

LEVELS = ("chunk", "document")
TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Entry:
    """What a map point shows of one item or document."""

    id: str
    title: str | None
    kind: str
    metadata: dict[str, Any]
    parent: str | None
    text: str | None  # the text (joined chunks for a document), for cluster labels
    caption: str | None  # a title or caption of an image, for cluster labels


@dataclass(frozen=True, slots=True)
class Visible:
    """Visible entries sorted by id, with their vectors (rows of ``vectors``; unit length in a
    cosine collection, the mean of its chunks for a document) when they were read."""

    entries: list[Entry]
    vectors: np.ndarray | None
    prints: tuple[int, ...] = ()  # with vectors: a hash of each entry's stored vector(s)

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)


def check_level(level: Any) -> str:
    if level not in LEVELS:
        raise InvalidInputError(f"level must be one of {LEVELS}, not {level!r}")
    return str(level)


def scope_and_seq(
    space: Space, s: Session, where: Mapping[str, Any] | None, acc: Access
) -> tuple[Scope, int]:
    """The caller's scope and the write sequence number it was decided at."""
    sc = scope_of(space, where, acc, s)
    return sc, space.sync(s)


def pks_of(space: Space, s: Session, sc: Scope) -> np.ndarray:
    return sql.all_ids(s, space.collection_id) if sc.allowed is None else sc.allowed


def read(space: Space, s: Session, sc: Scope, acc: Access, level: str, vectors: bool) -> Visible:
    """The scope's items (``level="chunk"``) or documents, with their vectors if ``vectors``."""
    rows = rows_for(s, space.collection_id, pks_of(space, s, sc).tolist(), acc, vectors=vectors)
    ordered = sorted(rows.values(), key=lambda r: r.external_id)
    mat = sql.from_blobs([r.data for r in ordered], space.dim) if vectors else None
    if mat is not None and space.metric == "cosine":
        mat, _ = unit_rows(mat)
    prints = tuple(hash(r.data) for r in ordered) if vectors else ()
    if level == "chunk":
        return Visible([_entry(r) for r in ordered], mat, prints)
    return _documents(ordered, mat, prints, space.metric, space.dim)


def _entry(r: HitRow) -> Entry:
    text = r.text if r.kind == "text" else None
    caption = r.source_title or _caption(r.meta)
    title = r.source_title or (_short(text) if text else None) or r.content_ref
    return Entry(r.external_id, title, r.kind, dict(r.meta or {}), r.parent_id, text, caption)


def _caption(meta: Any) -> str | None:
    if isinstance(meta, dict):
        for key in ("caption", "title", "alt"):
            if isinstance(meta.get(key), str) and meta[key].strip():
                return str(meta[key])
    return None


def _short(text: str) -> str:
    t = " ".join(text.split())
    return t if len(t) <= TITLE_CHARS else t[: TITLE_CHARS - 1] + "…"


def _documents(
    ordered: list[HitRow], mat: np.ndarray | None, prints: tuple[int, ...], metric: str, dim: int
) -> Visible:
    """One entry per document: its visible chunks (and itself, if stored) grouped by parent."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(ordered):
        groups.setdefault(r.parent_id if r.parent_id is not None else r.external_id, []).append(i)
    entries, vecs = [], []
    for key in sorted(groups):
        members = [ordered[i] for i in groups[key]]
        head = next((m for m in members if m.external_id == key), members[0])
        texts = [m.text for m in members if m.kind == "text" and m.text]
        e = _entry(head)
        title = e.title if head.external_id == key else (head.source_title or key)
        entries.append(
            Entry(key, title, head.kind, e.metadata, None, "\n".join(texts) or None, e.caption)
        )
        if mat is not None:
            vecs.append(mat[groups[key]].mean(0))
    out = np.asarray(vecs, dtype=np.float32).reshape(len(vecs), dim) if mat is not None else None
    if out is not None and len(out) and metric == "cosine":
        out, _ = unit_rows(out)
    doc_prints = (
        tuple(hash(tuple(prints[i] for i in groups[key])) for key in sorted(groups))
        if prints
        else ()
    )
    return Visible(entries, out, doc_prints)
