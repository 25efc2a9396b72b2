"""`map_of` and `project`: the caller's visible items on a 2-D map, and new points on the same map.

A projection is fitted on everything the caller can see (its principals; a filter only picks
which points are returned), so no hidden item shapes another caller's map, and callers with
the same principals share it. It is cached on the collection handle (`Space.maps`) under
``(method, seed, level, principals)`` with the write sequence number it reflects. When the
collection has changed, the items that are new or changed since are transformed into the
existing map (the others keep their place) unless they are more than `REFIT_FRACTION` of the
visible set; then the projection is refitted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.query.explore.clusters import group
from latentsearch.query.explore.labels import clusters_of
from latentsearch.query.explore.nearest import text_finder
from latentsearch.query.explore.projection import Projection, fit
from latentsearch.query.explore.visible import Visible, read, scope_and_seq
from latentsearch.query.scopes import scope_key
from latentsearch.query.space import Space
from latentsearch.results import Cluster, LatentMap, MapPoint
from latentsearch.store.acl import Access

REFIT_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class Fitted:
    """A projection and the coordinates of every item it has placed, at write sequence ``seq``."""

    projection: Projection
    seq: int
    index: dict[str, int]  # id -> row of coords
    coords: np.ndarray
    prints: tuple[int, ...]  # per row, a hash of the stored vector(s): changed items differ
    placed: int = 0  # items placed by `transform` since the fit (a refit is due beyond 10%)


@dataclass(frozen=True, slots=True)
class Grouped:
    """A cached clustering of one visible set."""

    seq: int
    clusters: list[Cluster]
    ids: frozenset[str]


def fitted(
    space: Space, s: Session, acc: Access, method: str, seed: int, level: str
) -> tuple[Fitted, bool, Visible | None]:
    """The caller's projection, up to date with the store; True when it was not refitted; and
    the caller's visible set when it had to be read (with vectors)."""
    full, seq = scope_and_seq(space, s, None, acc)
    key = ("projection", method, seed, level, acc.principals)
    with space.maps.fit_lock:
        f: Fitted | None = space.maps.get(key)
        if f is not None and f.seq == seq:
            return f, True, None
        vis = read(space, s, full, acc, level, vectors=True)
        assert vis.vectors is not None
        updated = _update(f, vis, seq) if f is not None else None
        if updated is not None:
            space.maps.put(key, updated, len(updated.coords))
            return updated, True, vis
        proj, coords = fit(vis.vectors, method, seed)
        f = Fitted(proj, seq, {e: i for i, e in enumerate(vis.ids)}, coords, vis.prints)
        space.maps.put(key, f, len(f.coords))
        return f, False, vis


def _update(f: Fitted, vis: Visible, seq: int) -> Fitted | None:
    """``f`` brought to ``vis`` by transforming what is new or changed; None if too much is."""
    assert vis.vectors is not None
    fresh = [
        i
        for i, (e, p) in enumerate(zip(vis.ids, vis.prints, strict=True))
        if e not in f.index or f.prints[f.index[e]] != p
    ]
    placed = f.placed + len(fresh)
    if placed > REFIT_FRACTION * max(len(vis), 1) or f.projection.fitted_on < 2 <= len(vis):
        return None
    coords = np.zeros((len(vis), 2), dtype=np.float32)
    for i, e in enumerate(vis.ids):
        if e in f.index:
            coords[i] = f.coords[f.index[e]]
    if fresh:
        coords[fresh] = f.projection.transform(vis.vectors[fresh])
    index = {e: i for i, e in enumerate(vis.ids)}
    return Fitted(f.projection, seq, index, coords, vis.prints, placed)


def map_of(
    space: Space,
    where: Mapping[str, Any] | None,
    acc: Access,
    *,
    method: str,
    seed: int,
    level: str,
    clusters: bool,
) -> LatentMap:
    mkey = ("map", method, seed, level, scope_key(where, acc.principals), clusters)
    with space.store.session() as s:
        f, cached, everything = fitted(space, s, acc, method, seed, level)
        sc, seq = scope_and_seq(space, s, where, acc)
        done: tuple[int, LatentMap] | None = space.maps.get(mkey)
        if done is not None and done[0] == seq == f.seq:
            m = done[1]  # the same answer at the same seq: copies of its lists, nothing re-read
            return replace(m, points=list(m.points), clusters=list(m.clusters), cached=True)
        key = cluster_key(where, acc, seed, level, None)
        grouped: Grouped | None = space.maps.get(key) if clusters else None
        regroup = clusters and (grouped is None or grouped.seq != seq)
        if where is None and everything is not None and seq == f.seq:
            vis = everything  # just read for the fit: the same set
        else:
            vis = read(space, s, sc, acc, level, vectors=regroup)
        if grouped is not None and not regroup and grouped.ids != frozenset(vis.ids):
            regroup = True  # a write landed between the reads: the cached grouping is stale
        missing = [i for i, e in enumerate(vis.ids) if e not in f.index]
        if (missing or regroup) and vis.vectors is None:
            vis = read(space, s, sc, acc, level, vectors=True)
            missing = [i for i, e in enumerate(vis.ids) if e not in f.index]
    coords = np.zeros((len(vis), 2), dtype=np.float32)
    for i, e in enumerate(vis.ids):
        if e in f.index:
            coords[i] = f.coords[f.index[e]]
    if missing:
        assert vis.vectors is not None
        coords[missing] = f.projection.transform(vis.vectors[missing])
    if regroup:
        grouped = grouping(space, acc, vis, seq, None, seed)
        space.maps.put(key, grouped, len(grouped.ids))
    found = grouped.clusters if grouped is not None else []
    member = {e: c.id for c in found for e in c.ids}
    points = [
        MapPoint(
            id=e.id,
            x=float(coords[i, 0]),
            y=float(coords[i, 1]),
            title=e.title,
            kind=e.kind,  # type: ignore[arg-type]
            metadata=e.metadata,
            cluster=member.get(e.id),
            parent=e.parent,
        )
        for i, e in enumerate(vis.entries)
    ]
    version = digest(points, found)
    m = LatentMap(points, f.projection.method, seed, version, f.projection.fitted_on, cached, found)
    if seq == f.seq:
        space.maps.put(mkey, (seq, m), len(m.points))
    return m


def grouping(
    space: Space, acc: Access, vis: Visible, seq: int, k: int | None, seed: int
) -> Grouped:
    """Cluster and label ``vis`` (its vectors must have been read)."""
    assert vis.vectors is not None
    found = clusters_of(vis, group(vis.vectors, k, seed), text_finder(space, acc))
    return Grouped(seq, found, frozenset(vis.ids))


def cluster_key(
    where: Mapping[str, Any] | None, acc: Access, seed: int, level: str, k: int | None
) -> Hashable:
    return ("clusters", scope_key(where, acc.principals), seed, level, k)


def clusters(
    space: Space,
    k: int | None,
    where: Mapping[str, Any] | None,
    acc: Access,
    *,
    seed: int,
    level: str = "chunk",
) -> list[Cluster]:
    """The clusters of the visible items matching ``where`` (cached until the next write)."""
    key = cluster_key(where, acc, seed, level, k)
    with space.store.session() as s:
        sc, seq = scope_and_seq(space, s, where, acc)
        grouped: Grouped | None = space.maps.get(key)
        if grouped is not None and grouped.seq == seq:
            return grouped.clusters
        vis = read(space, s, sc, acc, level, vectors=True)
    grouped = grouping(space, acc, vis, seq, k, seed)
    space.maps.put(key, grouped, len(grouped.ids))
    return grouped.clusters


def project(
    space: Space, vectors: np.ndarray, acc: Access, *, method: str, seed: int, level: str = "chunk"
) -> np.ndarray:
    """``(n, 2)`` coordinates of ``vectors`` on the caller's map of ``(method, seed)``."""
    with space.store.session() as s:
        f, _, _ = fitted(space, s, acc, method, seed, level)
    return f.projection.transform(vectors)


def digest(points: list[MapPoint], found: list[Cluster]) -> str:
    """A digest of everything a map answer shows (stable across processes, unlike ``hash``)."""
    h = hashlib.blake2b(digest_size=12)
    for p in points:
        row = (p.id, round(p.x, 5), round(p.y, 5), p.title, p.kind, p.cluster, p.parent, p.metadata)
        h.update(json.dumps(row, sort_keys=True, default=str).encode("utf-8", "surrogatepass"))
    for c in found:
        h.update(json.dumps((c.id, c.label, c.terms, c.size, c.medoid, c.ids)).encode())
    return h.hexdigest()
