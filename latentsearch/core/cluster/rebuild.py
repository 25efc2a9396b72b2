"""Rebuilding and tuning a sharded index (autofaiss's approach on Ray).

`rebuild`: choose the index (``index="auto"`` re-chooses for the collection's size), train it ONCE
on a sample of the stored vectors read from the store, ``ray.put`` the serialized trained empty
index, and let every replica of every shard fill its copy from the store in parallel (its own
ids only) and save its shard file. Exact indexes need no training: each shard fills a fresh one.
Then approximate indexes are tuned on the merged index, so nprobe / efSearch meet the recall
target for the collection as a whole.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from latentsearch.checks import check_recall
from latentsearch.core import building
from latentsearch.core.cluster.sharded_index import ShardedIndex
from latentsearch.core.settings import CollectionSettings, OptionsRecorder
from latentsearch.index import VectorIndex, approximate
from latentsearch.index.primitives import faiss
from latentsearch.index.specs import min_train_size
from latentsearch.index.tuning import Tuning, sample_ids
from latentsearch.store import Store
from latentsearch.store import items as sql

log = logging.getLogger(__name__)

TRAIN_SAMPLE = 100_000  # vectors read from the store to train IVF / PQ


class ShardedKeeper(Protocol):
    """What these functions use of `keeper.ShardedKeeper`."""

    settings: CollectionSettings
    store: Store
    ray: Any
    shards: int
    replicas: int
    recorder: OptionsRecorder

    def current(self) -> ShardedIndex: ...
    def sync(self) -> int: ...
    def everyone(self, method: str, *args: Any, timeout: float = ...) -> list[Any]: ...


def rebuild(keeper: ShardedKeeper) -> None:
    st = keeper.settings
    with keeper.store.session() as s:
        n = sql.count(s, st.id)
        picked = building.choice(st, n, "cpu")
        spec = picked.spec if picked else building.concrete_spec(st)
        probe = VectorIndex(st.dim, spec, st.metric, "cpu")
        trained = b""
        if not probe.is_trained and n >= min_train_size(spec):
            ids = sample_ids(sql.all_ids(s, st.id), size=TRAIN_SAMPLE)
            probe.train(sql.vectors_for(s, ids.tolist(), st.dim))
            trained = faiss.serialize_index(probe.index).tobytes()
            log.info("trained %s for %r on %d sampled vectors", spec, st.name, len(ids))
    ref = keeper.ray.put(trained)  # one copy in the object store, read by every replica
    view = keeper.current()
    view.spec, view.search_params = spec, {}
    counts = keeper.everyone("load_trained", ref, spec, {}, timeout=600.0)
    if len(counts) < keeper.shards * keeper.replicas:
        log.warning("%d replica(s) of %r did not rebuild; they replay from the store on restart",
                    keeper.shards * keeper.replicas - len(counts), st.name)  # fmt: skip
    if trained:
        view.index, view.pending = probe.index, None  # tuning reads nlist from it
    if picked is not None:
        keeper.recorder.set(active_index=spec, index_reason=picked.reason)
    keeper.recorder.set(tuning=None)
    if approximate(spec) and n > building.TUNE_K + 1:
        tune(keeper, None)
    keeper.recorder.persist()
    keeper.sync()


def tune(keeper: ShardedKeeper, recall_target: float | None) -> Tuning:
    """Tune nprobe / efSearch on the merged index against exact neighbours from the store, and
    give every replica the result."""
    st = keeper.settings
    if recall_target is not None:
        keeper.recorder.set(recall_target=check_recall(recall_target))
    keeper.sync()
    view = keeper.current()
    with keeper.store.session() as s:
        truth, _ = building.truth_from_store(s, st)
    result = building.measure(view, truth, st.recall_target)
    options = building.apply_tuning(view, result)
    if options:
        options["tuning"]["params"] = dict(view.search_params)
    keeper.recorder.set(**options)
    answered = keeper.everyone("set_params", dict(view.search_params))
    if len(answered) < keeper.shards * keeper.replicas:  # they read them from the file later
        log.warning("some replicas of %r missed the new search parameters", st.name)
    keeper.recorder.persist()
    return result
