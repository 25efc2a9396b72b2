"""Small helpers over FAISS objects: the metrics, id arrays, ID selectors, the ids an index holds.

faiss ships stubs that cover little of its SWIG API (SearchParametersHNSW, selectors'
attributes...) and none of faiss.contrib, so the package uses them untyped, through the names
defined here, rather than with ignores sprinkled everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import faiss as _faiss
import numpy as np
from faiss.contrib import evaluation as _evaluation
from faiss.contrib import exhaustive_search as _exhaustive_search

from latentsearch.errors import IndexBuildError

faiss: Any = _faiss
# Exact k-NN of queries over blocks of vectors, and the share of ids two result tables hold.
knn_ground_truth: Any = _exhaustive_search.knn_ground_truth
knn_intersection_measure: Any = _evaluation.knn_intersection_measure

METRICS = {
    "cosine": faiss.METRIC_INNER_PRODUCT,
    "ip": faiss.METRIC_INNER_PRODUCT,
    "l2": faiss.METRIC_L2,
}


def as_ids(ids: Any) -> np.ndarray:
    """``ids`` as a flat C-contiguous int64 array (FAISS's label type)."""
    return np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)


def id_selector(ids: np.ndarray) -> Any:
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


def selector(allowed: np.ndarray | None, hidden: Iterable[int] = ()) -> Any:
    """A selector keeping ``allowed`` ids (all when None) minus ``hidden`` ones (tombstones),
    or None when it would keep everything."""
    parts = []
    if allowed is not None:
        parts.append(id_selector(as_ids(allowed)))
    gone_ids = np.fromiter(hidden, dtype=np.int64)
    if len(gone_ids):
        gone = faiss.IDSelectorBatch(gone_ids)
        parts.append(faiss.IDSelectorNot(gone))
        parts[-1].referenced = gone  # keep the inner selector alive
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    both = faiss.IDSelectorAnd(parts[0], parts[1])
    both.referenced = parts
    return both


def is_gpu(index: Any) -> bool:
    return "Gpu" in type(index).__name__


def index_ids(index: Any) -> np.ndarray:
    """Every id stored in a CPU ``index`` (an IDMap, or an IVF index that stores ids itself)."""
    if hasattr(index, "id_map"):
        mapped: np.ndarray = faiss.vector_to_array(index.id_map).astype(np.int64)
        return mapped
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


MAX_EF = 4096  # the most HNSW efSearch that `effort` may ask for


def search_parameters(
    index: Any, sel: Any, values: Mapping[str, int], effort: float = 1.0, *, hnsw: bool = False
) -> Any:
    """FAISS search parameters for one search of ``index``: IVF nprobe or (``hnsw``: the index
    is a CPU HNSW graph) efSearch from ``values``, scaled by ``effort``, with the selector
    ``sel``; None when nothing differs from the index's own settings."""
    ivf = _faiss.try_extract_index_ivf(index) if not is_gpu(index) else None
    p: Any
    if ivf is not None:
        nprobe = int(values.get("nprobe", ivf.nprobe))
        p = faiss.SearchParametersIVF(nprobe=min(ivf.nlist, math.ceil(nprobe * effort)))
    elif hnsw:
        ef = int(values.get("efSearch", 16))
        p = faiss.SearchParametersHNSW(efSearch=min(MAX_EF, math.ceil(ef * effort)))
    elif sel is None:
        return None
    else:
        p = faiss.SearchParameters()
    if sel is not None:
        p.sel = sel
    return p


# -- construction ---------------------------------------------------------------------------
def faiss_metric(spec: str, metric: str) -> Any:
    """The FAISS metric for ``spec``. Binary codes (LSH) rank by Hamming distance whatever the
    metric, and FAISS builds them only as L2 indexes; refinement restores the collection's own."""
    return faiss.METRIC_L2 if "LSH" in spec else METRICS[metric]


def new_index(dim: int, spec: str, metric: str) -> Any:
    """An empty FAISS index for the factory string ``spec`` that stores caller-given ids."""
    try:
        probe = faiss.index_factory(dim, spec, faiss_metric(spec, metric))
    except RuntimeError as exc:
        raise IndexBuildError(
            f"invalid FAISS factory string {spec!r}: {str(exc).splitlines()[-1]}. "
            "Examples: 'Flat', 'HNSW32', 'IVF1024,Flat', 'IVF4096,PQ32', or 'auto'."
        ) from exc
    if faiss.try_extract_index_ivf(probe) is not None or spec.startswith("IDMap"):
        return probe  # IVF indexes store ids natively
    return faiss.index_factory(dim, "IDMap2," + spec, faiss_metric(spec, metric))


def exact_buffer(dim: int, metric: str) -> Any:
    """The exact flat index that holds vectors while an IVF/PQ index lacks training data."""
    return faiss.index_factory(dim, "IDMap2,Flat", METRICS[metric])


def removable(index: Any) -> bool:
    """True when ``index`` supports ``remove_ids`` (HNSW does not: it gets tombstones)."""
    try:
        index.remove_ids(faiss.IDSelectorBatch(np.zeros(0, dtype=np.int64)))
        return True
    except RuntimeError:
        return False
