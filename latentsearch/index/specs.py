"""What a FAISS factory string says about its index, read in one place.

Every layer that asks "is this index approximate?" or "how much data must it be trained on?"
asks here, so that the answers cannot drift apart. The questions are about the string alone
(no dimension, nothing built), since they are asked before an index exists.
"""

from __future__ import annotations

import re

# Factory-string components whose answers can differ from exact search: partitions (IVF), graphs
# (HNSW, NSG) and lossy codes (PQ and its OPQ, scalar quantizers, LSH, RaBitQ). A plain "Flat",
# with or without an IDMap, is exact.
APPROXIMATE_PARTS = ("IVF", "HNSW", "PQ", "SQ", "LSH", "RaBitQ", "NSG")
# Components that cannot be used before training on sample vectors (besides IVF's lists).
_TRAINED_CODES = re.compile(r"PQ|SQ|LSH|RaBitQ")
_IVF = re.compile(r"IVF(\d+)")
# Codes too coarse to rank by (a bit or a few bits per dimension): searches rescore their top
# candidates exactly from float16 rows on disk (`index.refine`).
_REFINED = re.compile(r"RaBitQ|PQ\d|LSH")
# FAISS wants about this many training points per IVF list.
POINTS_PER_LIST = 39
# Codebooks (PQ, scalar quantizers...) are trained on at least this many vectors.
MIN_CODE_TRAINING = 1000


def approximate(spec: str) -> bool:
    """True for indexes whose answers can differ from exact search (so they are tuned, and
    report a measured recall rather than 1.0). ``"Flat"`` and ``"IDMap2,Flat"`` are exact."""
    return any(part in spec for part in APPROXIMATE_PARTS)


def nlist(spec: str) -> int:
    """The number of IVF lists the spec asks for (0 for an index without lists)."""
    m = _IVF.search(spec)
    return int(m.group(1)) if m else 0


def graph(spec: str) -> bool:
    """True when the index itself is an HNSW graph (searched with ``efSearch``). An IVF index
    whose coarse quantizer is a graph (``IVF8192_HNSW32``) is searched with ``nprobe``."""
    return "HNSW" in spec and nlist(spec) == 0


def refined(spec: str) -> bool:
    """True for indexes whose codes are refined from the collection's vector file: RaBitQ, PQ
    and binary (``LSH``) codes."""
    return _REFINED.search(spec) is not None


def min_train_size(spec: str) -> int:
    """How many vectors training needs before the index can be used (FAISS's own guidance)."""
    need = POINTS_PER_LIST * nlist(spec)
    if _TRAINED_CODES.search(spec):
        need = max(need, MIN_CODE_TRAINING)
    return max(need, 1)
