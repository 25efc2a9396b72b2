"""Building, tuning and the upkeep rules of a collection's FAISS index, as plain functions.

The index is derived from the vectors in SQL. Building it streams them once; the same pass
computes exact neighbours for a sample of them, so an approximate index is tuned on the
collection's own vectors (`index.tuning`) the moment it is built. `due` says when growth calls
for a rebuild (re-choosing the index for ``index="auto"``, retraining, compaction) or a re-tune.
These functions read the store through a session they are given and never take a lock: the
`IndexKeeper` decides when they run and what they may touch.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.core.settings import CollectionSettings
from latentsearch.device import faiss_num_gpus
from latentsearch.index import VectorIndex, approximate
from latentsearch.index.auto import IndexChoice, choose
from latentsearch.index.specs import refined
from latentsearch.index.tuning import GroundTruth, Tuning, sample_ids, tunable, tune
from latentsearch.index.vectorfile import VectorFile
from latentsearch.results import IndexInfo
from latentsearch.store import items as sql

log = logging.getLogger(__name__)

COMPACT_FRACTION = 0.1  # rebuild once tombstones pass this share of the index
RETUNE_GROWTH = 2.0  # re-tune past this one
TUNE_K = 10
SPOT_CHECK = 64  # vector-file rows compared with the store when an index is loaded


class Cancelled(Exception):
    """A background build gave up (the collection is closing)."""


@dataclass(slots=True)
class Built:
    """A freshly built index, the seq it reflects, and the options to record with it."""

    index: VectorIndex
    seq: int
    options: dict[str, Any] = field(default_factory=dict)


def concrete_spec(settings: CollectionSettings) -> str:
    """The factory string in use: the one given, or the last automatic choice."""
    if settings.index_spec == "auto":
        return str(settings.options.get("active_index") or "Flat")
    return settings.index_spec


def choice(settings: CollectionSettings, n: int, device: str) -> IndexChoice | None:
    """For ``index="auto"``, the index `index.auto.choose` picks for ``n`` vectors."""
    if settings.index_spec != "auto":
        return None
    opts = settings.options
    return choose(
        n,
        settings.dim,
        memory_budget=opts.get("memory_budget"),
        storage=str(opts.get("storage", "float32")),
        recall_target=settings.recall_target,
        gpu=device == "cuda" and faiss_num_gpus() > 0,
    )


def build(
    s: Session,
    settings: CollectionSettings,
    device: str,
    cancel: threading.Event | None = None,
    vectors: VectorFile | None = None,
) -> Built:
    """A fresh index from the stored vectors (one streaming pass), tuned when approximate.

    ``vectors``: the collection's vector file; an index with refined codes (`specs.refined`)
    writes every vector there as it is added, and rescores from it."""
    cid, dim = settings.id, settings.dim
    seq = sql.current_seq(s, cid) or 0
    n = sql.count(s, cid)
    picked = choice(settings, n, device)
    spec = picked.spec if picked else settings.index_spec
    index = VectorIndex(dim, spec, settings.metric, device)
    if vectors is not None and refined(spec):
        index.attach(vectors)
    truth = ground_truth(s, settings) if approximate(spec) and n > TUNE_K + 1 else None
    for ids, vecs in sql.iter_vectors(s, cid, dim):
        if cancel is not None and cancel.is_set():
            raise Cancelled
        index.add(ids, vecs)
        if truth is not None:
            truth.add(ids, vecs)
    index.mark_built()
    out = Built(index, seq)
    if picked is not None:
        out.options.update(active_index=spec, index_reason=picked.reason)
    if truth is not None:
        out.options.update(apply_tuning(index, measure(index, truth, settings.recall_target)))
    return out


def vectors_in_step(
    s: Session, settings: CollectionSettings, vectors: VectorFile, checkpoint: int
) -> bool:
    """True when ``vectors`` holds every stored vector up to ``checkpoint``: its recorded seq
    is recent enough and a sample of its rows equals the stored vectors (a spot check that
    catches a damaged or replaced file without reading all of it)."""
    seq = vectors.checkpoint()
    if seq is None or seq < checkpoint:
        return False
    ids = sample_ids(sql.all_ids(s, settings.id), SPOT_CHECK)
    return vectors.matches(ids, sql.vectors_for(s, ids.tolist(), settings.dim))


def fill_vectors(
    s: Session, settings: CollectionSettings, vectors: VectorFile, checkpoint: int
) -> None:
    """Rewrite ``vectors`` from the store (one streaming pass) and mark it at ``checkpoint``."""
    vectors.reset()
    for ids, vecs in sql.iter_vectors(s, settings.id, settings.dim):
        vectors.write(ids, vecs)
    vectors.mark(checkpoint)


def ground_truth(s: Session, settings: CollectionSettings) -> GroundTruth:
    """Sample queries (stored vectors) whose exact neighbours the build's pass will find."""
    qids = sample_ids(sql.all_ids(s, settings.id))
    vectors = sql.vectors_for(s, qids.tolist(), settings.dim)
    return GroundTruth(vectors, qids, TUNE_K, settings.metric)


def truth_from_store(
    s: Session, settings: CollectionSettings, cancel: threading.Event | None = None
) -> tuple[GroundTruth, int | None]:
    """Exact neighbours of sample vectors over the whole store, and the seq they reflect."""
    seq = sql.current_seq(s, settings.id)
    truth = ground_truth(s, settings)
    for ids, vecs in sql.iter_vectors(s, settings.id, settings.dim):
        if cancel is not None and cancel.is_set():
            raise Cancelled
        truth.add(ids, vecs)
    return truth, seq


def measure(
    index: VectorIndex,
    truth: GroundTruth,
    recall_target: float,
    lock: threading.RLock | None = None,
) -> Tuning:
    """The narrowest search parameters of ``index`` that meet ``recall_target`` (``lock`` is
    held around each trial search when ``index`` is live)."""
    return tune(
        index,
        truth.queries,
        truth.query_ids,
        truth.neighbours(),
        recall_target,
        TUNE_K,
        lock=lock,
    )


def apply_tuning(index: VectorIndex, result: Tuning) -> dict[str, Any]:
    """Set ``result``'s parameters on ``index``; return the options that record them."""
    index.search_params.update(result.params)
    if result.param is None:
        return {}
    return {"tuning": {**result.to_dict(), "spec": index.spec, "n": index.ntotal}}


def due(index: VectorIndex, settings: CollectionSettings, device: str) -> tuple[bool, bool]:
    """(rebuild due, re-tune due) for the live ``index``."""
    n = index.ntotal
    picked = choice(settings, n, device)
    rechoose = picked is not None and picked.spec != index.spec
    compact = len(index.deleted) > COMPACT_FRACTION * max(n, 1)
    # No retraining on growth alone: a build trains on the first `min_train_size` stored
    # vectors, so retraining the same spec would read the whole store to learn from the very
    # same sample. (Growth changes the spec of index="auto", and that rebuilds: `rechoose`.)
    rebuild = rechoose or compact
    tuning = settings.options.get("tuning") or {}
    tuned_n = int(tuning.get("n", 0)) if tuning.get("spec") == index.spec else 0
    retune = tunable(index) and n > TUNE_K + 1 and (tuned_n == 0 or n >= RETUNE_GROWTH * tuned_n)
    return rebuild, retune


def replay(s: Session, settings: CollectionSettings, index: VectorIndex, after: int) -> None:
    """Drop ids tombstoned after seq ``after``; add items written after it not yet indexed."""
    gone = sql.tombstones_since(s, settings.id, after)
    if len(gone):
        index.remove(gone)
    have = index.ids()
    for ids, vecs in sql.iter_vectors(s, settings.id, settings.dim, after_seq=after):
        keep = ~np.isin(ids, have)
        index.add(ids[keep], vecs[keep])


def info(index: VectorIndex, settings: CollectionSettings, *, rebuilding: bool) -> IndexInfo:
    """What `Collection.index_info` reports about ``index``."""
    opts = settings.options
    tuning = opts.get("tuning") or {}
    tuned = tuning.get("spec") == index.spec
    exact = not approximate(index.spec)
    return IndexInfo(
        spec=index.spec,
        requested=settings.index_spec,
        reason=str(opts.get("index_reason", "chosen at creation")),
        vectors=index.ntotal,
        approximate=not exact,
        params=dict(index.search_params),
        recall=tuning.get("recall") if tuned else (1.0 if exact else None),
        recall_target=settings.recall_target,
        tuned_on=int(tuning.get("n", 0)) if tuned else 0,
        mapped=index.mapped,
        rebuilding=rebuilding,
    )


def attach_vectors(
    s: Session, settings: CollectionSettings, vectors: VectorFile, index: VectorIndex, cp: int
) -> None:
    """Give a loaded refined index its vector file, rebuilt from the store when it is missing,
    behind ``cp`` or damaged (it is derived data, like the index)."""
    if not refined(index.spec):
        return
    if not vectors_in_step(s, settings, vectors, cp):
        log.warning(
            "vector file of %r is missing, behind or damaged; rebuilding it from the store",
            settings.name,
        )
        fill_vectors(s, settings, vectors, cp)
    index.attach(vectors)
