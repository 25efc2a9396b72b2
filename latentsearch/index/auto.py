"""``index="auto"``: pick a FAISS factory string from the collection's size and dimension."""

from __future__ import annotations

import math

# Below this many vectors, exact search is fast enough and has perfect recall.
EXACT_LIMIT = 50_000


def choose_spec(n: int, dim: int) -> str:
    """Exact ``Flat`` for small collections; IVF with ~4·sqrt(n) lists (HNSW quantizer) above."""
    if n < EXACT_LIMIT:
        return "Flat"
    nlist = 1 << max(6, round(math.log2(4 * math.sqrt(n))))
    return f"IVF{nlist},Flat"
