"""`IndexKeeper`: one collection's FAISS index, derived from the store and kept in step with it.

It opens the index (loads the saved file, replaying what it missed, or builds it from the
store), mirrors committed writes (`apply`), catches up with writes of other processes (`sync`),
saves it atomically with the seq it reflects, and runs upkeep: rebuilds that growth makes due
(re-choosing the index for ``index="auto"``, retraining, compaction) and re-tunes run on a
background thread while readers keep using the current index; the finished index replays the
writes made meanwhile and is swapped in under the lock. It needs no `Database`: a `Store`, the
index folder and the collection's settings.

Lock order (see `core.locking`): every method that reads the store checks out its connection
before taking the lock, and nothing waits for a connection while holding it.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from latentsearch.checks import check_recall
from latentsearch.core import building
from latentsearch.core.building import Cancelled
from latentsearch.core.locking import connected, hold
from latentsearch.core.pace import WritePace
from latentsearch.core.saving import IndexSaver
from latentsearch.core.settings import CollectionSettings, OptionsRecorder
from latentsearch.errors import CollectionNotFoundError
from latentsearch.index import SearchResult, VectorIndex
from latentsearch.index.files import index_name
from latentsearch.index.tuning import Tuning
from latentsearch.index.vectorfile import VectorFile
from latentsearch.results import IndexInfo
from latentsearch.store import Store
from latentsearch.store import items as sql

log = logging.getLogger(__name__)


class IndexKeeper:
    """The FAISS index of one collection (implements `core.protocol.Keeper`).

    ``folder`` holds the index files; ``read_only`` keeps everything in memory (nothing is
    written to the folder or the store). Opening loads or builds the index at once.
    """

    def __init__(
        self,
        store: Store,
        folder: Path,
        settings: CollectionSettings,
        *,
        device: str = "auto",
        read_only: bool = False,
    ) -> None:
        self.store = store
        self.folder = folder
        self.settings = settings
        self.device = device
        self.read_only = read_only
        self.file = index_name(settings.id)  # the index's name in the folder
        self._lock = threading.RLock()
        self._dirty = False
        self._saver = IndexSaver(folder, self.file, read_only=read_only)
        self._retune_after = 0.0
        self._worker: threading.Thread | None = None
        self._cancel = threading.Event()
        self._pace = WritePace(self._lock, self._cancel)  # re-tunes wait for bulk loads to pause
        self.recorder = OptionsRecorder(store, settings, read_only=read_only)
        # float16 rows that refined indexes rescore from (a read-only keeper has none)
        self.vectors = None if read_only else VectorFile(folder, self.file, settings.dim)
        self._index, self._checkpoint = self._open()
        self.recorder.persist()

    # -- the Keeper interface ---------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def current(self) -> VectorIndex:
        return self._index

    @property
    def checkpoint(self) -> int:
        """The store's write seq that the index reflects."""
        return self._checkpoint

    def sync(self, s: Session | None = None) -> int:
        """Bring the index up to the store (writes by other processes); return the seq."""
        if s is None:
            with self.store.session() as own:
                return self.sync(own)
        connected(s)  # before the lock
        with self._lock:
            seq = sql.current_seq(s, self.settings.id)
            if seq is None:
                raise CollectionNotFoundError(f"collection {self.settings.name!r} was dropped")
            if seq != self._checkpoint:
                building.replay(s, self.settings, self._index, self._checkpoint)
                self._checkpoint, self._dirty = seq, True
            return seq

    def writing(self) -> AbstractContextManager[Session]:
        self._pace.started()
        return hold(self.store.transaction(), self._lock)

    def apply(
        self,
        seq: int,
        *,
        add: tuple[np.ndarray, np.ndarray] | None = None,
        remove: np.ndarray | None = None,
    ) -> None:
        with self._lock:
            in_step = self._checkpoint == seq - 1
            if in_step:
                if remove is not None and len(remove):
                    self._index.remove(remove)
                if add is not None and len(add[0]):
                    self._index.add(*add)
                self._checkpoint = seq
        if not in_step:  # someone else wrote meanwhile: replay from the store
            self.sync()
        with self._lock:
            self._dirty = True
            self._maybe_save()
            self._schedule_maintenance()
            self._pace.ended()

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        effort: float = 1.0,
    ) -> SearchResult:
        with self._lock:
            return self._index.search(queries, k, allowed=allowed, effort=effort)

    def count(self) -> int:
        with self._lock:
            return self._index.ntotal

    def save(self) -> None:
        with self._lock:
            if self._dirty:
                self._write_file(self._index, self._checkpoint)

    # -- upkeep -----------------------------------------------------------------------
    def flush(self) -> None:
        """Wait for background work, then rebuild, retrain, compact or re-tune when due, and save."""
        self.wait_for_maintenance()
        with hold(self.store.session(), self._lock) as s:
            self.sync(s)
            rebuild, retune = building.due(self._index, self.settings, self.device)
            if rebuild:
                log.info(
                    "rebuilding the index of %r (%s, %d vectors)",
                    self.settings.name,
                    self._index.spec,
                    self._index.ntotal,
                )
                self._swap_in(self._build(s))
            elif retune:
                self._tune(s, self._index)
                self._dirty = True
            self.save()
        self.recorder.persist()

    def rebuild(self) -> None:
        """Rebuild the index from the stored vectors (re-choosing and re-tuning it), and save it."""
        self.wait_for_maintenance()
        with hold(self.store.session(), self._lock) as s:
            self._swap_in(self._build(s))
            self.save()
        self.recorder.persist()

    def verify(self) -> bool:
        """True when the index holds exactly the store's items."""
        with hold(self.store.session(), self._lock) as s:
            self.sync(s)
            return bool(np.array_equal(self._index.ids(), sql.all_ids(s, self.settings.id)))

    def tune(self, recall_target: float | None = None) -> Tuning:
        """Measure recall on a sample of the stored vectors and set nprobe / efSearch;
        ``recall_target`` (0 < r ≤ 1) replaces the collection's target when given."""
        if recall_target is not None:
            self.recorder.set(recall_target=check_recall(recall_target))
            self.recorder.persist()
        self.wait_for_maintenance()
        with hold(self.store.session(), self._lock) as s:
            self.sync(s)
            result = self._tune(s, self._index)
            self._dirty = True
            self.save()
        self.recorder.persist()
        return result

    def info(self) -> IndexInfo:
        """The index in use, why it was chosen, its search parameters and measured recall."""
        return building.info(self._index, self.settings, rebuilding=self.rebuilding)

    @property
    def rebuilding(self) -> bool:
        """True while a background rebuild or re-tune runs."""
        return self._worker is not None and self._worker.is_alive()

    def wait_for_maintenance(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild or re-tune to finish."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def close(self) -> None:
        """Cancel background work (the store stays the source of truth) and save the index."""
        self._cancel.set()
        self._pace.cancel()
        self.wait_for_maintenance()
        self.save()
        self.recorder.persist()

    # -- opening and building -----------------------------------------------------------
    def _open(self) -> tuple[VectorIndex, int]:
        loaded = VectorIndex.load(
            self.folder,
            self.file,
            dim=self.settings.dim,
            spec=building.concrete_spec(self.settings),
            metric=self.settings.metric,
            device=self.device,
            mmap=self.settings.options.get("mmap"),
            clean=not self.read_only,
        )
        with self.store.session() as s:
            if loaded is None:
                built = self._build(s)
                if built.index.ntotal:
                    log.info(
                        "rebuilt the index of %r from the store (%d vectors)",
                        self.settings.name,
                        built.index.ntotal,
                    )
                self._write_file(built.index, built.seq)
                return built.index, built.seq
            index, cp = loaded
            if self.vectors is not None:  # refined codes rescore from it
                building.attach_vectors(s, self.settings, self.vectors, index, cp)
            seq = sql.current_seq(s, self.settings.id) or 0
            if seq != cp:
                log.warning(
                    "index of %r lags the store (seq %d < %d); replaying",
                    self.settings.name,
                    cp,
                    seq,
                )
                building.replay(s, self.settings, index, cp)
                self._write_file(index, seq)
            return index, seq

    def _build(self, s: Session, cancel: threading.Event | None = None) -> building.Built:
        """A fresh index from the store (see `building.build`), its options recorded."""
        built = building.build(s, self.settings, self.device, cancel, self.vectors)
        self.recorder.set(**built.options)
        return built

    def _swap_in(self, built: building.Built) -> None:
        """Make ``built`` the live index (caller holds the lock and has synced)."""
        self._index, self._checkpoint, self._dirty = built.index, built.seq, True

    def _tune(self, s: Session, index: VectorIndex) -> Tuning:
        """Tune ``index`` against exact neighbours from the store and record the result."""
        truth, _ = building.truth_from_store(s, self.settings)
        result = building.measure(index, truth, self.settings.recall_target)
        self.recorder.set(**building.apply_tuning(index, result))
        return result

    # -- background upkeep --------------------------------------------------------------
    def _schedule_maintenance(self, *, quiet: bool = False) -> None:
        """Start a background rebuild or re-tune when one is due and none is running (a
        re-tune waits for a pause in streaming writes; ``quiet``: writes have paused)."""
        if self.rebuilding:
            return
        rebuild, retune = building.due(self._index, self.settings, self.device)
        if not (rebuild or (retune and time.monotonic() >= self._retune_after)):
            return
        if not rebuild and self._pace.streaming and not quiet:
            # writes are streaming: tune once they pause (or at flush)
            self._pace.when_quiet(lambda: self._schedule_maintenance(quiet=True))
            return
        self._worker = threading.Thread(
            target=self._background,
            args=(rebuild,),
            name=f"latentsearch-index-{self.settings.name}",
            daemon=True,
        )
        self._worker.start()

    def _background(self, rebuild: bool) -> None:
        name = self.settings.name
        try:
            if rebuild:
                with self.store.session() as s:
                    built = self._build(s, self._cancel)
                with hold(self.store.session(), self._lock) as s:
                    seq = sql.current_seq(s, self.settings.id) or 0
                    building.replay(s, self.settings, built.index, built.seq)
                    built.seq = seq
                    self._swap_in(built)
                    self.save()
                log.info("background rebuild of %r done: %s", name, built.index.spec)
            else:
                self._background_tune()
            self.recorder.persist()
        except Cancelled:
            log.info("background index work on %r cancelled", name)
        except Exception:  # a background failure must not go unseen; the store is untouched
            log.exception("background index work on %r failed; the current index stays", name)

    def _background_tune(self) -> None:
        started = time.monotonic()
        snapshot = self._index
        with self.store.session() as s:
            truth, truth_seq = building.truth_from_store(s, self.settings, self._cancel)
        # The live index is searched under the lock (writers may change it), a few ms at a
        # time; the answer counts only if no write landed since the truth was taken.
        result = building.measure(snapshot, truth, self.settings.recall_target, lock=self._lock)
        with self._lock:
            if self._index is snapshot and self._checkpoint == truth_seq:
                self.recorder.set(**building.apply_tuning(snapshot, result))
                self._dirty = True
                self.save()
            else:  # writes are under way: try again later, or at flush()
                self._retune_after = time.monotonic() + max(5.0, 2 * (time.monotonic() - started))
                log.debug("re-tuning %r raced with writes; retrying later", self.settings.name)

    # -- saving -------------------------------------------------------------------------
    def _maybe_save(self) -> None:
        """Save if `IndexSaver.due` (caller holds the lock)."""
        if self._saver.due(self._index, self.settings.dim):
            self.save()

    def _write_file(self, index: VectorIndex, checkpoint: int) -> None:
        self._saver.write(index, checkpoint)  # read-only: nothing written, rebuilt in memory
        self._dirty = False
