"""How a `Collection` keeps its FAISS index: open, replay, build, tune, maintain and save.

The index is derived from the vectors in SQL. Building it streams them once; the same pass
computes exact neighbours for a sample of them, so an approximate index is tuned on the
collection's own vectors (`index.tuning`) the moment it is built. Rebuilds that growth makes
due (re-choosing the index for ``index="auto"``, retraining, compaction, re-tuning) run on a
background thread while readers keep using the current index; the finished index replays the
writes made meanwhile and is swapped in under the lock. `Collection.flush` waits for them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from latentsearch.device import faiss_num_gpus
from latentsearch.index import VectorIndex
from latentsearch.index.auto import IndexChoice, choose
from latentsearch.index.files import index_name
from latentsearch.index.specs import approximate as _approximate
from latentsearch.index.tuning import GroundTruth, Tuning, sample_ids, tunable, tune
from latentsearch.store import CollectionRow
from latentsearch.store import items as sql

if TYPE_CHECKING:
    from latentsearch.db import Database

log = logging.getLogger(__name__)

# Indexes up to this size are saved after every write; larger ones every SAVE_INTERVAL_S.
SAVE_EAGERLY_BYTES = 64 << 20
SAVE_INTERVAL_S = 30.0
COMPACT_FRACTION = 0.1
# Re-choose / retrain past this growth factor; re-tune past RETUNE_GROWTH.
GROWTH = 4.0
RETUNE_GROWTH = 2.0
TUNE_K = 10
DEFAULT_RECALL = 0.95


class _Cancelled(Exception):
    pass


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """What `Collection.index_info` reports: the index in use and how it was chosen and tuned."""

    spec: str
    requested: str  # "auto" or the factory string given at creation
    reason: str
    vectors: int
    approximate: bool
    params: dict[str, int]
    recall: float | None  # recall@10 measured on held-out sample queries when tuned
    recall_target: float
    tuned_on: int  # vectors in the index when it was tuned (0: never)
    mapped: bool
    rebuilding: bool


class IndexKeeping:
    """Mixin for `Collection`: everything about the derived FAISS index."""

    _db: Database
    _id: int
    name: str
    dim: int
    metric: str
    index_spec: str
    options: dict[str, Any]
    _device: str
    _lock: threading.RLock
    _index: VectorIndex
    _checkpoint: int
    _dirty: bool
    _last_save: float
    _save_cost: float = 0.0
    _retune_after: float = 0.0
    _worker: threading.Thread | None
    _cancel: threading.Event

    # -- public -----------------------------------------------------------------------
    @property
    def recall_target(self) -> float:
        return float(self.options.get("recall_target", DEFAULT_RECALL))

    def index_info(self) -> IndexInfo:
        """The index in use, why it was chosen, its search parameters and measured recall."""
        idx = self._index
        tuning = self.options.get("tuning") or {}
        tuned = tuning.get("spec") == idx.spec
        return IndexInfo(
            spec=idx.spec,
            requested=self.index_spec,
            reason=str(self.options.get("index_reason", "chosen at creation")),
            vectors=idx.ntotal,
            approximate=_approximate(idx.spec),
            params=dict(idx.search_params),
            recall=tuning.get("recall") if tuned else (None if _approximate(idx.spec) else 1.0),
            recall_target=self.recall_target,
            tuned_on=int(tuning.get("n", 0)) if tuned else 0,
            mapped=idx.mapped,
            rebuilding=self._worker is not None and self._worker.is_alive(),
        )

    def tune(self, recall_target: float | None = None) -> Tuning:
        """Measure recall on a sample of the collection's own vectors and set nprobe / efSearch.

        ``recall_target`` (0 < r ≤ 1) replaces the collection's target when given.
        """
        from latentsearch.collection import check_recall  # the argument check lives with the API

        if recall_target is not None:
            self._set_option("recall_target", check_recall(recall_target))
        self.wait_for_maintenance()
        with self._lock:
            self.sync()  # type: ignore[attr-defined]
            result = self._tune(self._index)
            self._dirty = True
            self._save()
            return result

    def wait_for_maintenance(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild or re-tune to finish (`flush` does this first)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    # -- opening and replay -----------------------------------------------------------
    def _concrete_spec(self) -> str:
        if self.index_spec == "auto":
            return str(self.options.get("active_index") or "Flat")
        return self.index_spec

    def _choice(self, n: int) -> IndexChoice | None:
        if self.index_spec != "auto":
            return None
        return choose(
            n,
            self.dim,
            memory_budget=self.options.get("memory_budget"),
            storage=str(self.options.get("storage", "float32")),
            recall_target=self.recall_target,
            gpu=self._device == "cuda" and faiss_num_gpus() > 0,
        )

    def _open_index(self) -> tuple[VectorIndex, int]:
        loaded = VectorIndex.load(
            self._db.path,
            self._file,
            dim=self.dim,
            spec=self._concrete_spec(),
            metric=self.metric,
            device=self._device,
            mmap=self.options.get("mmap"),
            clean=not self._db.read_only,
        )
        if loaded is None:
            index, cp = self._build_from_store()
            if index.ntotal:
                log.info(
                    "rebuilt the index of %r from the store (%d vectors)", self.name, index.ntotal
                )
            self._save_index(index, cp)
            return index, cp
        index, cp = loaded
        self._index, self._checkpoint = index, cp
        with self._db.store.session() as s:
            seq = sql.current_seq(s, self._id) or 0
            if seq != cp:
                log.warning(
                    "index of %r lags the store (seq %d < %d); replaying", self.name, cp, seq
                )
                self._catch_up(s, seq)
                self._save_index(self._index, self._checkpoint)
        return self._index, self._checkpoint

    def _catch_up(self, s: Any, seq: int) -> None:
        """Replay writes after our checkpoint into the live index."""
        self._replay(s, self._index, self._checkpoint)
        self._checkpoint = seq
        self._dirty = True

    def _replay(self, s: Any, index: VectorIndex, after: int) -> None:
        """Drop ids tombstoned after seq ``after``; add items written after it not yet indexed."""
        gone = sql.tombstones_since(s, self._id, after)
        if len(gone):
            index.remove(gone)
        have = index.ids()
        for ids, vecs in sql.iter_vectors(s, self._id, self.dim, after_seq=after):
            keep = ~np.isin(ids, have)
            index.add(ids[keep], vecs[keep])

    # -- building and tuning ----------------------------------------------------------
    def _build_from_store(self, cancel: threading.Event | None = None) -> tuple[VectorIndex, int]:
        """A fresh index from the stored vectors (one streaming pass), tuned when approximate."""
        with self._db.store.session() as s:
            seq = sql.current_seq(s, self._id) or 0
            n = sql.count(s, self._id)
            choice = self._choice(n)
            spec = choice.spec if choice else self.index_spec
            index = VectorIndex(self.dim, spec, self.metric, self._device)
            truth = self._ground_truth(s) if _approximate(spec) and n > TUNE_K + 1 else None
            for ids, vecs in sql.iter_vectors(s, self._id, self.dim):
                if cancel is not None and cancel.is_set():
                    raise _Cancelled
                index.add(ids, vecs)
                if truth is not None:
                    truth.add(ids, vecs)
            index.mark_built()
        if choice is not None:
            self._set_options(active_index=spec, index_reason=choice.reason)
        if truth is not None:
            self._tune(index, truth)
        return index, seq

    def _ground_truth(self, s: Any) -> GroundTruth:
        qids = sample_ids(sql.all_ids(s, self._id))
        return GroundTruth(sql.vectors_for(s, qids.tolist(), self.dim), qids, TUNE_K, self.metric)

    def _tune(self, index: VectorIndex, truth: GroundTruth | None = None) -> Tuning:
        """Tune ``index`` against ``truth`` (computed from the store when not given), apply the
        parameters and record them. The caller holds the lock or owns ``index``."""
        if truth is None:
            truth, _ = self._truth_from_store()
        result = self._measure(index, truth)
        self._apply_tuning(index, result)
        return result

    def _truth_from_store(
        self, cancel: threading.Event | None = None
    ) -> tuple[GroundTruth, int | None]:
        """Exact neighbours of sample vectors over the whole store, and the seq they reflect."""
        with self._db.store.session() as s:
            seq = sql.current_seq(s, self._id)
            truth = self._ground_truth(s)
            for ids, vecs in sql.iter_vectors(s, self._id, self.dim):
                if cancel is not None and cancel.is_set():
                    raise _Cancelled
                truth.add(ids, vecs)
        return truth, seq

    def _measure(
        self, index: VectorIndex, truth: GroundTruth, lock: threading.RLock | None = None
    ) -> Tuning:
        return tune(
            index,
            truth.queries,
            truth.query_ids,
            truth.neighbours(),
            self.recall_target,
            TUNE_K,
            lock=lock,
        )

    def _apply_tuning(self, index: VectorIndex, result: Tuning) -> None:
        index.search_params.update(result.params)
        if result.param is not None:
            self._set_options(tuning={**result.to_dict(), "spec": index.spec, "n": index.ntotal})

    # -- maintenance ------------------------------------------------------------------
    def _due(self) -> tuple[bool, bool]:
        """(rebuild due, re-tune due) for the live index."""
        idx = self._index
        n = idx.ntotal
        choice = self._choice(n)
        rechoose = choice is not None and choice.spec != idx.spec
        compact = len(idx.deleted) > COMPACT_FRACTION * max(n, 1)
        rebuild = rechoose or idx.needs_retrain(GROWTH) or compact
        tuning = self.options.get("tuning") or {}
        tuned_n = int(tuning.get("n", 0)) if tuning.get("spec") == idx.spec else 0
        retune = tunable(idx) and n > TUNE_K + 1 and (tuned_n == 0 or n >= RETUNE_GROWTH * tuned_n)
        return rebuild, retune

    def _maintain(self) -> None:
        """Rebuild (re-choose, retrain, compact) or re-tune now when due. Caller holds the lock."""
        rebuild, retune = self._due()
        if rebuild:
            log.info(
                "rebuilding the index of %r (%s, %d vectors)",
                self.name,
                self._index.spec,
                self._index.ntotal,
            )
            self._index, self._checkpoint = self._build_from_store()
            self._dirty = True
        elif retune:
            self._tune(self._index)
            self._dirty = True

    def _schedule_maintenance(self) -> None:
        """Start a background rebuild or re-tune when one is due and none is running."""
        if self._worker is not None and self._worker.is_alive():
            return
        rebuild, retune = self._due()
        if not (rebuild or (retune and time.monotonic() >= self._retune_after)):
            return
        self._worker = threading.Thread(
            target=self._background,
            args=(rebuild,),
            name=f"latentsearch-index-{self.name}",
            daemon=True,
        )
        self._worker.start()

    def _background(self, rebuild: bool) -> None:
        try:
            if rebuild:
                index, cp = self._build_from_store(self._cancel)
                with self._lock, self._db.store.session() as s:
                    seq = sql.current_seq(s, self._id) or 0
                    self._replay(s, index, cp)
                    self._index, self._checkpoint, self._dirty = index, seq, True
                    self._save()
                log.info("background rebuild of %r done: %s", self.name, index.spec)
            else:
                started = time.monotonic()
                snapshot = self._index
                truth, truth_seq = self._truth_from_store(self._cancel)
                # The live index is searched under the lock (writers may change it), a few ms at
                # a time; the answer counts only if no write landed since the truth was taken.
                result = self._measure(snapshot, truth, lock=self._lock)
                with self._lock:
                    if self._index is snapshot and self._checkpoint == truth_seq:
                        self._apply_tuning(snapshot, result)
                        self._dirty = True
                        self._save()
                    else:  # writes are under way: try again later, or at flush()
                        wait = max(5.0, 2 * (time.monotonic() - started))
                        self._retune_after = time.monotonic() + wait
                        log.debug("re-tuning %r raced with writes; retrying later", self.name)
        except _Cancelled:
            log.info("background index work on %r cancelled", self.name)
        except Exception:  # a background failure must not go unseen; the store is untouched
            log.exception("background index work on %r failed; the current index stays", self.name)

    # -- saving -----------------------------------------------------------------------
    @property
    def _file(self) -> str:
        return index_name(self._id)

    def _maybe_save(self) -> None:
        """Save small indexes after every write; big ones at most every SAVE_INTERVAL_S, and
        never spending more than a tenth of the time saving (a 1.5 GB index takes seconds to
        write, and the store replays whatever an unsaved index misses)."""
        big = self._index.ntotal * self.dim * 4 > SAVE_EAGERLY_BYTES
        wait = max(SAVE_INTERVAL_S, 10 * self._save_cost)
        if not big or time.monotonic() - self._last_save > wait:
            self._save()

    def _save(self) -> None:
        if self._dirty:
            self._save_index(self._index, self._checkpoint)

    def _save_index(self, index: VectorIndex, checkpoint: int) -> None:
        if self._db.read_only:  # nothing is written to a read-only folder: rebuilt in memory
            self._dirty = False
            return
        t = time.monotonic()
        index.save(self._db.path, self._file, checkpoint)
        self._last_save = time.monotonic()
        self._save_cost = self._last_save - t
        self._dirty = False

    def _set_option(self, key: str, value: Any) -> None:
        self._set_options(**{key: value})

    def _set_options(self, **values: Any) -> None:
        self.options.update(values)
        if self._db.read_only:  # index choices and tunings of a read-only index stay in memory
            return
        with self._db.store.transaction() as s:
            row = s.get(CollectionRow, self._id)
            if row is not None:
                row.options = {**(row.options or {}), **values}
