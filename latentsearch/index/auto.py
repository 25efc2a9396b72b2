"""``index="auto"``: choose a FAISS index from the collection's size, dimension and memory budget.

In the spirit of autofaiss, the choice is a small decision table (also in docs/indexes.md):

====================================================  =====================================
condition (first match wins)                          index
====================================================  =====================================
n < 20,000, or recall target 1.0 and vectors fit      exact: ``Flat`` (``SQfp16``, ``SQ8``,
                                                      or the coded storage's flat index)
GPU present, n < 1,000,000 and vectors fit             ``Flat`` (exact; GPU brute force)
``storage="rabitq"`` / ``"pq"`` / ``"binary"``        ``IVF{nlist},RaBitQ`` / ``IVF{nlist},PQ{d/8}np``
                                                      / ``LSHt`` (all refined from disk)
float32 vectors fit the budget                        ``IVF{nlist},Flat``
float16 vectors fit (or ``storage="float16"``)        ``IVF{nlist},SQfp16``
8-bit vectors fit (or ``storage="sq8"``)              ``IVF{nlist},SQ8``
RaBitQ codes fit                                      ``IVF{nlist},RaBitQ`` (refined from disk)
otherwise                                             ``IVF{nlist},PQ{m}np`` (m bytes per vector;
                                                      refined from disk)
====================================================  =====================================

"Refined from disk": RaBitQ (one bit per dimension plus two floats), PQ and binary codes rank
candidates too coarsely to order a top 10, so searches rescore ``refine`` × k candidates from
float16 copies of the vectors in a file beside the index (`index.vectorfile`, `index.refine`).
That file is on disk and read row by row, so it does not count against ``memory_budget``.

``nlist`` is a power of two near 4·sqrt(n) that the data can train (39 points per list); from
`HNSW_QUANTIZER_LISTS` lists up, the coarse quantizer is an HNSW graph over the centroids
(``IVF{nlist}_HNSW32``), which assigns vectors to lists about a hundred times faster. The
search breadth (nprobe; efSearch for HNSW) is then *measured*, not guessed: `tuning.tune` picks
the smallest value whose recall@10 on a sample of the collection's own vectors meets the target.

HNSW is never chosen automatically on the CPU: on this kind of machine IVF builds an order of
magnitude faster, supports real deletes (HNSW needs tombstones until a rebuild), uses 4·d bytes
per vector rather than 4·d + 64·M, and reaches the same recall once nprobe is tuned. It stays
available as an explicit factory string (``index="HNSW32"``), and is tuned the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from latentsearch.errors import InvalidInputError
from latentsearch.index.specs import POINTS_PER_LIST, approximate

# Below this many vectors, exact search is fast enough and has perfect recall.
EXACT_LIMIT = 20_000
# Where a GPU is present, brute force on it stays fast up to here.
GPU_EXACT_LIMIT = 1_000_000
# From this many lists, vectors find their list through an HNSW graph over the centroids.
HNSW_QUANTIZER_LISTS = 8192
# Room for ids, inverted-list overhead and coarse centroids on top of the codes.
OVERHEAD = 1.15

# Bytes per dimension of each storage (coded ones: their codes' share; see `code_bytes`).
STORAGE = {
    "float32": 4.0,
    "float16": 2.0,
    "sq8": 1.0,
    "rabitq": 0.125,
    "pq": 0.125,
    "binary": 0.125,
}
WIDTHS = ("float32", "float16", "sq8")  # the storages that keep a value per dimension
_SQ = {"float32": "Flat", "float16": "SQfp16", "sq8": "SQ8"}
# RaBitQ stores two float factors per vector beside its bits (FAISS 1.15: code_size = d/8 + 8).
RABITQ_EXTRA = 8
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20}
_UNITS |= {"mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
_UNITS |= {"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}


@dataclass(frozen=True, slots=True)
class IndexChoice:
    """An automatic index choice: the factory string, why, and its estimated size."""

    spec: str
    reason: str
    bytes_per_vector: float

    @property
    def approximate(self) -> bool:
        """Whether the chosen index is approximate (`specs.approximate`, as for every index)."""
        return approximate(self.spec)

    def estimated_bytes(self, n: int) -> int:
        return int(n * self.bytes_per_vector * OVERHEAD)


def parse_bytes(value: int | str | None) -> int | None:
    """``"2GiB"``, ``"512 MB"``, ``1_000_000`` -> bytes (binary units); None stays None."""
    if value is None or isinstance(value, int):
        if isinstance(value, int) and value <= 0:
            raise InvalidInputError(f"memory budget must be positive, not {value}")
        return value
    m = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise InvalidInputError(
            f"cannot read memory budget {value!r}: use bytes or a size like '512MiB' or '4GiB'"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def nlist_for(n: int) -> int:
    """A power of two near 4·sqrt(n), never more lists than the data can train."""
    target = min(4 * math.sqrt(n), n / POINTS_PER_LIST)
    return 1 << max(0, int(math.log2(max(target, 1))))


def choose(
    n: int,
    dim: int,
    *,
    memory_budget: int | None = None,
    storage: str = "float32",
    recall_target: float = 0.95,
    gpu: bool = False,
) -> IndexChoice:
    """Pick an index for ``n`` vectors of ``dim`` dimensions (see the module's decision table)."""
    if storage not in STORAGE:
        raise InvalidInputError(f"storage must be one of {sorted(STORAGE)}, not {storage!r}")
    budget = memory_budget if memory_budget is not None else math.inf
    fits = {s: n * code_bytes(s, dim) * OVERHEAD <= budget for s in STORAGE}
    exact = _SQ[storage] if storage in WIDTHS else _coded(storage, dim, None)
    size = code_bytes(storage, dim)
    if n < EXACT_LIMIT or (recall_target >= 1.0 and fits[storage]):
        why = "small enough for exact search" if n < EXACT_LIMIT else "recall target 1.0"
        return IndexChoice(exact, why, size)
    if gpu and n < GPU_EXACT_LIMIT and fits[storage]:
        return IndexChoice(exact, "exact search on the GPU", size)
    nlist = nlist_for(n)
    # (on a GPU, the flat quantizer is fast already, and an HNSW one could not move there)
    hnsw = nlist >= HNSW_QUANTIZER_LISTS and not gpu
    ivf = f"IVF{nlist}_HNSW32" if hnsw else f"IVF{nlist}"
    if storage not in WIDTHS:
        return IndexChoice(
            _coded(storage, dim, ivf),
            f"{n:,} vectors; {storage} codes asked for",
            code_bytes(storage, dim),
        )
    # the widest storage that both the caller allows and the budget holds
    for kind in WIDTHS:
        if STORAGE[kind] > STORAGE[storage] or not fits[kind]:
            continue
        why = f"{n:,} vectors; {kind} codes fit" + (" the budget" if memory_budget else "")
        return IndexChoice(f"{ivf},{_SQ[kind]}", why, dim * STORAGE[kind])
    rabitq = code_bytes("rabitq", dim)
    if n * rabitq * OVERHEAD <= budget:
        why = f"{n:,} vectors; only RaBitQ codes (refined from disk) fit the budget"
        return IndexChoice(f"{ivf},RaBitQ", why, rabitq)
    m = _pq_bytes(n, dim, budget)
    why = f"{n:,} vectors; only {m}-byte PQ codes (refined from disk) fit the budget"
    return IndexChoice(f"{ivf},PQ{m}np", why, m)


def code_bytes(storage: str, dim: int) -> float:
    """Bytes per vector that ``storage`` keeps in memory (ids and list overhead aside)."""
    if storage == "rabitq":
        return math.ceil(dim / 8) + RABITQ_EXTRA
    if storage == "pq":
        return float(_pq_m(dim))
    if storage == "binary":
        return float(math.ceil(dim / 8))
    return dim * STORAGE[storage]


def _coded(storage: str, dim: int, ivf: str | None) -> str:
    """The factory string of a coded storage, with lists (``ivf``) or flat (None)."""
    if storage == "binary":
        return "LSHt"  # sign bits against per-dimension medians, scanned by Hamming distance
    # ("np": FAISS would also train PQ codes for polysemous search, which is never used here
    # and took minutes on a busy machine)
    code = "RaBitQ" if storage == "rabitq" else f"PQ{_pq_m(dim)}np"
    return f"{ivf},{code}" if ivf else code


def _pq_m(dim: int) -> int:
    """PQ sub-quantizers for about one bit per dimension (a divisor of ``dim``, at most 64)."""
    return max(m for m in range(1, min(dim, 64) + 1) if dim % m == 0 and m <= max(1, dim // 8))


def choose_spec(n: int, dim: int) -> str:
    """The factory string `choose` picks with no budget (kept for callers that want a string)."""
    return choose(n, dim).spec


def _pq_bytes(n: int, dim: int, budget: float) -> int:
    """The largest PQ code size (bytes per vector, dividing ``dim``) that fits ``budget``."""
    for m in sorted((m for m in range(1, dim + 1) if dim % m == 0 and m <= 64), reverse=True):
        if n * m * OVERHEAD <= budget:
            return m
    raise InvalidInputError(
        f"{n:,} vectors of dimension {dim} do not fit the memory budget even as 1-byte PQ codes; "
        "raise memory_budget"
    )
