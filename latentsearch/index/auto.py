"""``index="auto"``: pick a FAISS factory string from the collection's size and dimension."""

from __future__ import annotations

import math

# Below this many vectors, exact search is fast enough and has perfect recall.
EXACT_LIMIT = 50_000
# FAISS wants about 39 training points per IVF list.
POINTS_PER_LIST = 39


def choose_spec(n: int, dim: int) -> str:
    """Exact ``Flat`` for small collections; above, IVF with about 4·sqrt(n) lists.

    The list count is a power of two, and never more than the data can train.
    """
    if n < EXACT_LIMIT:
        return "Flat"
    target = min(4 * math.sqrt(n), n / POINTS_PER_LIST)
    nlist = 1 << max(0, int(math.log2(max(target, 1))))
    return f"IVF{nlist},Flat"
