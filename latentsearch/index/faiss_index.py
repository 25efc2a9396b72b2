"""A FAISS index keyed by the items' integer ids: build, train, add, remove, search, save, GPU.

numpy in, numpy out; it knows nothing of SQL or encoders. The CPU index is the one that is
mutated and saved; a GPU clone, when a GPU is usable, is a read-only copy made on demand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

from latentsearch.device import faiss_num_gpus, resolve_device
from latentsearch.errors import DimensionMismatchError, IndexBuildError, InvalidInputError
from latentsearch.index.files import prune
from latentsearch.vectors import real_array, to_float32

# faiss ships stubs that cover little of its SWIG API (SearchParametersHNSW, selectors'
# attributes...), so it is used untyped here rather than with ignores sprinkled everywhere.
faiss: Any = _faiss

log = logging.getLogger(__name__)

# FAISS 1.15 runs exhaustive search through BLAS sgemm when queries × dimension (the floats of
# the query batch, not the number of queries) reach this threshold. Its default, 128,000, keeps
# batches of up to 333 384-d queries on the scalar loop: 200 queries over 50k vectors took 564 ms
# instead of 85 ms on one core. Too low a value is as bad the other way: at 20, one query over
# 200k 384-d vectors took 54 ms through sgemm instead of 12 ms, and an IVF1024 search (whose
# coarse step is such a search) 0.17 instead of 0.074 ms. Measured on 2 cores (AMD EPYC),
# sgemm wins from 8 queries of 384-d with 1 thread or 2, hence 8 × 384. The setting is
# process-wide and only changes speed (and float rounding in the last bit), never which vectors
# are compared.
BLAS_THRESHOLD = 8 * 384
if faiss.cvar.distance_compute_blas_threshold > BLAS_THRESHOLD:
    faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD

METRICS = {
    "cosine": faiss.METRIC_INNER_PRODUCT,
    "ip": faiss.METRIC_INNER_PRODUCT,
    "l2": faiss.METRIC_L2,
}
FORMAT = 1
SINGLE_THREAD_WORK = 1 << 25  # queries x vectors x dim below which a search runs on one thread
# With fewer queries than threads, FAISS 1.15 splits a flat search over the database and runs
# sgemm one query at a time in each slice. On 2 cores that took 28.5 ms for one query over 200k
# 384-d vectors, against 12.1 ms for its sequential kernel on one thread (sgemm with one query
# costs 4.5× the sequential kernel per thread). Up to this many threads, such searches run on one.
FEW_THREADS = 4
GPU_MAX_K = 2048  # FAISS GPU indexes answer at most this many neighbours per query
# Index files at least this large are memory-mapped on load unless told otherwise.
MMAP_BYTES = 1 << 30
MAX_EF = 4096  # the most HNSW efSearch that `effort` may ask for


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``scores`` and ``ids`` of shape ``(n_queries, k)``; missing slots have id -1."""

    scores: np.ndarray
    ids: np.ndarray


def check_vectors(x: Any, dim: int, what: str = "vectors", *, rescale: bool = False) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 ``(n, dim)`` array or raise a clear error.

    Real numbers only (see `latentsearch.vectors`). A row of finite values beyond float32's range
    is scaled down by its largest magnitude with ``rescale`` (where only directions count), and
    refused otherwise.
    """
    arr = real_array(x, what)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise InvalidInputError(f"{what} must be a 2-d array (n, {dim}), got shape {arr.shape}")
    if arr.shape[1] != dim:
        raise DimensionMismatchError(
            f"{what} have dimension {arr.shape[1]}, but this collection stores {dim}-d vectors"
        )
    return to_float32(arr, rescale=rescale, what=lambda row: f"{what} (row {row})")


def check_ids(ids: Any) -> np.ndarray:
    arr = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    return arr


def _nlist(spec: str) -> int:
    m = re.search(r"IVF(\d+)", spec)
    return int(m.group(1)) if m else 0


def min_train_size(spec: str) -> int:
    """How many vectors training needs before the index can be used (FAISS's own guidance)."""
    need = 39 * _nlist(spec)
    if re.search(r"PQ|SQ|LSH|RaBitQ", spec):
        need = max(need, 1000)
    return max(need, 1)


class VectorIndex:
    """One collection's FAISS index. Ids are caller-supplied int64s (the SQL primary keys)."""

    def __init__(
        self, dim: int, spec: str = "Flat", metric: str = "cosine", device: str = "auto"
    ) -> None:
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {sorted(METRICS)}, not {metric!r}")
        if dim < 1:
            raise InvalidInputError(f"dim must be positive, not {dim}")
        self.dim, self.spec, self.metric = dim, spec, metric
        self.index = self._new()
        self.device = resolve_device(device, what="index")
        self.removable = self._probe_removable()
        # Ids hidden by selector where FAISS cannot remove_ids (HNSW); compacted by a rebuild.
        self.deleted: set[int] = set()
        # While an IVF/PQ index lacks training data, vectors wait in an exact flat index.
        self.pending: faiss.Index | None = None if self.index.is_trained else self._flat()
        self.trained_on = 0
        self.search_params: dict[str, int] = {}
        self._gpu: faiss.Index | None = None
        self._gpu_unusable = False
        # A file descriptor on the index file while the index is memory-mapped (read-only for IVF).
        self._mapped_fd: int | None = None

    # -- construction -------------------------------------------------------------------
    def _new(self) -> faiss.Index:
        spec = self.spec
        try:
            probe = faiss.index_factory(self.dim, spec, METRICS[self.metric])
        except RuntimeError as exc:
            raise IndexBuildError(
                f"invalid FAISS factory string {spec!r}: {str(exc).splitlines()[-1]}. "
                "Examples: 'Flat', 'HNSW32', 'IVF1024,Flat', 'IVF4096,PQ32', or 'auto'."
            ) from exc
        if faiss.try_extract_index_ivf(probe) is not None or spec.startswith("IDMap"):
            return probe  # IVF indexes store ids natively
        return faiss.index_factory(self.dim, "IDMap2," + spec, METRICS[self.metric])

    def _flat(self) -> faiss.Index:
        return faiss.index_factory(self.dim, "IDMap2,Flat", METRICS[self.metric])

    def _probe_removable(self) -> bool:
        try:
            self.index.remove_ids(faiss.IDSelectorBatch(np.zeros(0, dtype=np.int64)))
            return True
        except RuntimeError:
            return False

    # -- state --------------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        """Vectors searchable now (tombstoned ones excluded)."""
        live = self.index.ntotal + (self.pending.ntotal if self.pending is not None else 0)
        return int(live - len(self.deleted))

    @property
    def is_trained(self) -> bool:
        return self.pending is None

    def needs_retrain(self, growth: float = 4.0) -> bool:
        """True when a trained index holds ``growth`` times the vectors it held when trained
        (or when a full build finished: see `mark_built`)."""
        return self.trained_on > 0 and self.ntotal >= growth * self.trained_on

    @property
    def honours_selectors(self) -> bool:
        """False while searches run on a GPU clone, whose FAISS indexes ignore ID selectors.

        (`search` with ``allowed=`` then falls back to the CPU copy, which is exact but slower; the
        planner prefers to oversample on the GPU and re-check.) HNSW honours selectors but may
        return fewer than ``k`` results under one; callers must check the count.
        """
        return self.device != "cuda" or self._gpu_unusable or self.pending is not None

    @property
    def mapped(self) -> bool:
        """True while the index is memory-mapped from its file (loaded with ``IO_FLAG_MMAP``)."""
        return self._mapped_fd is not None

    def _ensure_writable(self) -> None:
        """Read a memory-mapped index into memory before its first change.

        FAISS maps IVF lists read-only (writing to them aborts the process), so the first add,
        remove or train loads the file properly. The file is read through the descriptor kept at
        load time, so a newer save that has replaced it meanwhile does not matter.
        """
        if self._mapped_fd is None:
            return
        fd, self._mapped_fd = self._mapped_fd, None
        try:
            loaded = faiss.read_index(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        log.info("loaded the memory-mapped %s index into memory for writing", self.spec)
        if self.pending is not None:
            self.pending = loaded
        else:
            self.index = loaded

    @property
    def scans_lists(self) -> bool:
        """True for a trained IVF index: under a bitmap selector, scanning every list costs one
        bit test per vector plus the allowed vectors' distances, less than loading stored ones."""
        return self.pending is None and faiss.try_extract_index_ivf(self.index) is not None

    def needs_compaction(self) -> bool:
        return len(self.deleted) > 0

    def ids(self) -> np.ndarray:
        """Every live id in the index, sorted."""
        parts = [_index_ids(self.index)]
        if self.pending is not None:
            parts.append(_index_ids(self.pending))
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if self.deleted:
            out = out[~np.isin(out, np.fromiter(self.deleted, dtype=np.int64))]
        return np.sort(out)

    # -- mutation -----------------------------------------------------------------------
    def add(self, ids: Any, vectors: Any) -> None:
        x = check_vectors(vectors, self.dim)
        i = check_ids(ids)
        if len(i) != len(x):
            raise InvalidInputError(f"{len(i)} ids for {len(x)} vectors")
        if len(i) == 0:
            return
        self._ensure_writable()
        self._gpu = None
        if self.pending is None:
            self.index.add_with_ids(x, i)
            return
        self.pending.add_with_ids(x, i)
        if self.pending.ntotal >= min_train_size(self.spec):
            self._train_from_pending()

    def mark_built(self) -> None:
        """Record that the index now reflects every stored vector: growth is counted from here,
        not from the smaller sample it was trained on."""
        if self.is_trained:
            self.trained_on = max(self.trained_on, self.ntotal)

    def _train_from_pending(self) -> None:
        assert self.pending is not None
        ids = _index_ids(self.pending)
        vecs = self.pending.index.reconstruct_n(0, self.pending.ntotal)
        log.info("training %s on %d vectors", self.spec, len(vecs))
        self.train(vecs)
        self.index.add_with_ids(vecs, ids)
        self.pending = None

    def train(self, vectors: Any) -> None:
        x = check_vectors(vectors, self.dim)
        if len(x) < min_train_size(self.spec):
            raise IndexBuildError(
                f"{self.spec} needs at least {min_train_size(self.spec)} training vectors, got {len(x)}"
            )
        self._ensure_writable()
        self.index.train(x)
        self.trained_on = len(x)
        if self.pending is not None and self.pending.ntotal == 0:
            self.pending = None

    def remove(self, ids: Any) -> None:
        i = check_ids(ids)
        if len(i) == 0:
            return
        self._ensure_writable()
        self._gpu = None
        sel = faiss.IDSelectorBatch(i)
        if self.pending is not None:
            self.pending.remove_ids(sel)
        if self.removable:
            self.index.remove_ids(sel)
        else:
            present = np.intersect1d(_index_ids(self.index), i)
            self.deleted.update(int(v) for v in present)

    # -- search -------------------------------------------------------------------------
    def search(
        self,
        queries: Any,
        k: int,
        allowed: np.ndarray | None = None,
        effort: float = 1.0,
        *,
        params: Mapping[str, int] | None = None,
    ) -> SearchResult:
        """Top-``k`` by the collection's metric, restricted to ``allowed`` ids when given.

        ``effort`` multiplies the index's search breadth (IVF nprobe, HNSW efSearch): under a
        selector that keeps a fraction ``s`` of the items, ``1/s`` keeps the work on allowed
        vectors, and the recall, close to an unrestricted search's. ``params`` overrides
        `search_params` (``nprobe``, ``efSearch``) for this call only.
        """
        q = check_vectors(queries, self.dim, "query vectors")
        if k < 1:
            raise InvalidInputError(f"k must be at least 1, not {k}")
        p = {**self.search_params, **(params or {})}
        if self.pending is not None:
            return self._search(self.pending, q, k, self._selector(allowed, tombstones=False), p)
        sel = self._selector(allowed, tombstones=True)
        return self._search(self._searchable(sel is not None, k), q, k, sel, p, effort)

    def _selector(self, allowed: np.ndarray | None, *, tombstones: bool) -> faiss.IDSelector | None:
        parts = []
        if allowed is not None:
            parts.append(id_selector(check_ids(allowed)))
        if tombstones and self.deleted:
            gone = faiss.IDSelectorBatch(np.fromiter(self.deleted, dtype=np.int64))
            parts.append(faiss.IDSelectorNot(gone))
            parts[-1].referenced = gone  # keep the inner selector alive
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        both = faiss.IDSelectorAnd(parts[0], parts[1])
        both.referenced = parts
        return both

    def _params(
        self,
        index: faiss.Index,
        sel: faiss.IDSelector | None,
        values: Mapping[str, int],
        effort: float = 1.0,
    ) -> Any:
        ivf = faiss.try_extract_index_ivf(index) if not _is_gpu(index) else None
        if ivf is not None:
            nprobe = int(values.get("nprobe", ivf.nprobe))
            p = faiss.SearchParametersIVF(nprobe=min(ivf.nlist, math.ceil(nprobe * effort)))
        elif "HNSW" in self.spec and index is self.index:
            ef = int(values.get("efSearch", 16))
            p = faiss.SearchParametersHNSW(efSearch=min(MAX_EF, math.ceil(ef * effort)))
        elif sel is None:
            return None
        else:
            p = faiss.SearchParameters()
        if sel is not None:
            p.sel = sel
        return p

    def _search(
        self,
        index: faiss.Index,
        q: np.ndarray,
        k: int,
        sel: faiss.IDSelector | None,
        values: Mapping[str, int],
        effort: float = 1.0,
    ) -> SearchResult:
        params = self._params(index, sel, values, effort)
        kk = min(k, max(index.ntotal, 1))
        with _threads_for(len(q), len(q) * index.ntotal * self.dim):
            scores, ids = index.search(q, kk, params=params) if params else index.search(q, kk)
        if kk < k:
            pad = ((0, 0), (0, k - kk))
            scores = np.pad(scores, pad, constant_values=-np.inf)
            ids = np.pad(ids, pad, constant_values=-1)
        if self.metric == "l2":
            scores = -scores  # higher is better everywhere in latentsearch
        scores = np.where(ids < 0, -np.inf, scores)
        return SearchResult(scores=scores.astype(np.float32), ids=ids)

    # -- GPU ----------------------------------------------------------------------------
    def _searchable(self, needs_selector: bool, k: int = 1) -> faiss.Index:
        """The index to search: the GPU clone when usable, else the CPU index (and say why)."""
        if self.device != "cuda" or self._gpu_unusable:
            return self.index
        if k > GPU_MAX_K:
            log.debug(
                "k=%d is above the FAISS GPU limit (%d): searching the CPU index", k, GPU_MAX_K
            )
            return self.index
        if needs_selector:
            # FAISS GPU indexes (outside cuVS builds) ignore or reject ID selectors: exactness
            # matters more than speed, so filtered searches and tombstones run on the CPU copy.
            log.debug("ID selector in use: searching the CPU index instead of the GPU clone")
            return self.index
        if self._gpu is None:
            try:
                co = faiss.GpuMultipleClonerOptions()
                co.shard = faiss_num_gpus() > 1
                self._gpu = faiss.index_cpu_to_all_gpus(self.index, co=co)
                log.info("cloned %s to %d GPU(s)", self.spec, faiss_num_gpus())
            except RuntimeError as exc:  # e.g. HNSW has no GPU implementation
                log.warning("%s cannot run on the GPU (%s); searching on the CPU", self.spec, exc)
                self._gpu_unusable = True
                return self.index
        return self._gpu

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: Path, name: str, checkpoint: int) -> None:
        """Atomically save as ``name.json`` (the commit point) naming a fresh ``name.<gen>.faiss``."""
        # A mapped IVF index would be written as a reference to the mapped file: load it first.
        self._ensure_writable()
        folder.mkdir(parents=True, exist_ok=True)
        meta_path = folder / f"{name}.json"
        old = _read_meta(meta_path)
        data_name = f"{name}.{uuid.uuid4().hex[:12]}.faiss"
        _write_atomic(folder / data_name, lambda p: faiss.write_index(self._persisted(), str(p)))
        meta = {
            "format": FORMAT,
            "file": data_name,
            "checkpoint": checkpoint,
            "dim": self.dim,
            "spec": self.spec,
            "metric": self.metric,
            "pending": self.pending is not None,
            "trained_on": self.trained_on,
            "deleted": sorted(self.deleted),
            "search_params": self.search_params,
        }
        _write_atomic(meta_path, lambda p: p.write_text(json.dumps(meta)))
        if old and old.get("file") != data_name:
            (folder / old["file"]).unlink(missing_ok=True)
        prune(folder, name, keep=data_name)  # e.g. the file of a meta that was unreadable

    def _persisted(self) -> faiss.Index:
        return self.pending if self.pending is not None else self.index

    @classmethod
    def load(
        cls,
        folder: Path,
        name: str,
        *,
        dim: int,
        spec: str,
        metric: str,
        device: str = "auto",
        mmap: bool | None = None,
        clean: bool = True,
    ) -> tuple[VectorIndex, int] | None:
        """Load a saved index and its checkpoint, or None when it is missing, stale or damaged.

        ``mmap``: map the file instead of reading it (``IO_FLAG_MMAP``): pages load on demand and
        processes share them; None maps files of at least `MMAP_BYTES`. The first write reads
        the index into memory. ``clean``: remove this index's orphan files (`files.prune`).
        """
        meta = _read_meta(folder / f"{name}.json")
        if not meta or (
            meta.get("format"),
            meta.get("dim"),
            meta.get("spec"),
            meta.get("metric"),
        ) != (
            FORMAT,
            dim,
            spec,
            metric,
        ):
            return None
        path = folder / meta["file"]
        try:
            if mmap is None:
                mmap = path.stat().st_size >= MMAP_BYTES
            fd = os.open(path, os.O_RDONLY) if mmap else None
        except OSError as exc:
            log.warning("index file for %s is unreadable (%s); it will be rebuilt", name, exc)
            return None
        try:
            stored = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mmap else 0)
        except (RuntimeError, OSError) as exc:
            if fd is not None:
                os.close(fd)
            log.warning("index file for %s is unreadable (%s); it will be rebuilt", name, exc)
            return None
        if mmap:
            log.info("memory-mapped the index of %s (%s)", name, path.name)
        vi = cls(dim, spec, metric, device)
        vi._mapped_fd = fd
        if meta["pending"]:
            vi.pending = stored
        else:
            vi.index, vi.pending = stored, None
        vi.trained_on = int(meta["trained_on"])
        vi.deleted = set(meta["deleted"])
        vi.search_params = dict(meta.get("search_params", {}))
        if clean:
            prune(folder, name, keep=meta["file"])
        return vi, int(meta["checkpoint"])

    @staticmethod
    def drop(folder: Path, name: str) -> None:
        """Delete every file of the index ``name`` (meta first, so a crash leaves no live index)."""
        (folder / f"{name}.json").unlink(missing_ok=True)
        for p in [*folder.glob(f"{name}.*.faiss"), *folder.glob(f"{name}.*.tmp")]:
            p.unlink(missing_ok=True)


@contextlib.contextmanager
def _threads_for(queries: int, work: int) -> Any:
    """Run a search on this thread alone where more threads would cost more than they give
    (OpenMP's setting is per calling thread).

    * Small searches: waking OpenMP workers for a few microseconds of work (even IndexIDMap's
      label translation opens a parallel region) costs more than the work, and on a busy machine
      a worker that is not scheduled stalls the whole search for milliseconds: one query over
      1,400 vectors took 20-30 ms instead of 0.05 ms at a load of 10 on 2 cores.
    * Fewer queries than threads, on up to `FEW_THREADS` threads (see there).

    Other searches keep every thread.
    """
    threads = faiss.omp_get_max_threads()
    alone = work <= SINGLE_THREAD_WORK or queries < threads <= FEW_THREADS
    if threads == 1 or not alone:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def id_selector(ids: np.ndarray) -> faiss.IDSelector:
    """An ID selector for ``ids``: a bitmap when it is compact, else a hash set.

    A bitmap over ``[0, max id]`` costs one bit per possible id and answers with one load; the
    primary keys of a collection are dense, so this is the usual case.
    """
    top = int(ids.max()) + 1 if len(ids) else 0
    if top <= max(1 << 16, 64 * len(ids)):
        bits = np.zeros(top, dtype=bool)
        bits[ids[ids >= 0]] = True
        packed = np.packbits(bits, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(packed), faiss.swig_ptr(packed))  # n: bytes
        sel.referenced = packed  # FAISS keeps a pointer: keep the array alive with it
        return sel
    return faiss.IDSelectorBatch(ids)


def _is_gpu(index: faiss.Index) -> bool:
    return "Gpu" in type(index).__name__


def _index_ids(index: faiss.Index) -> np.ndarray:
    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        raise IndexBuildError(f"cannot list ids of a {type(index).__name__}")
    inv = ivf.invlists
    parts = [
        faiss.rev_swig_ptr(inv.get_ids(lst), inv.list_size(lst)).copy()
        for lst in range(ivf.nlist)
        if inv.list_size(lst)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
