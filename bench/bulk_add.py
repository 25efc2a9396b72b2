"""The bulk path of add(vectors=, ids=) against the general path, in one process.

    PYTHONPATH=. python -m bench.bulk_add [--n 100000] [--batch 10000]

Two raw-vector collections with a ``Flat`` index (so the index's share is small) get the same
batches in turn: one through the bulk path (bare vectors and ids), one through the general
path (``metadata=[None] * batch`` sends it there; the rows written are the same).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import latentsearch as ls
from bench.data import gaussian_mixture


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()
    n, b = args.n, args.batch
    x = gaussian_mixture(n, 384)
    with tempfile.TemporaryDirectory() as tmp, ls.connect(tmp, device="cpu") as db:
        fast = db.create_collection("fast", dim=384, index="Flat")
        slow = db.create_collection("slow", dim=384, index="Flat")
        bulk = general = 0.0
        for s in range(0, n, b):
            ids = [f"v{i}" for i in range(s, s + b)]
            t = time.perf_counter()
            fast.add(vectors=x[s : s + b], ids=ids)
            bulk += time.perf_counter() - t
            t = time.perf_counter()
            slow.add(vectors=x[s : s + b], ids=ids, metadata=[None] * b)
            general += time.perf_counter() - t
    print(
        f"n={n} batch={b}: bulk path {bulk:.1f} s ({n / bulk:.0f}/s), general path "
        f"{general:.1f} s ({n / general:.0f}/s), general/bulk {general / bulk:.2f}x"
    )


if __name__ == "__main__":
    main()
