"""Small helpers over FAISS objects: the metrics, id arrays, ID selectors, the ids an index holds.

faiss ships stubs that cover little of its SWIG API (SearchParametersHNSW, selectors'
attributes...) and none of faiss.contrib, so the package uses them untyped, through the names
defined here, rather than with ignores sprinkled everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
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
