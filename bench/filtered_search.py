"""Filtered, permission-aware search latency by selectivity, against unfiltered search.

    PYTHONPATH=. python bench/filtered_search.py [--n 20000] [--dim 384] [--database URL]

Prints one table: for each filter, the share of items it keeps, the planner's route, the median
latency of `col.search(vector, k=10, where=..., principals=...)`, the unfiltered baseline and
the ratio. Data: random unit vectors; metadata {"g": i % 1000, "p": i % 10}; ACL "*" on a
third of the items, "group:eng" on the rest.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import numpy as np

import latentsearch as ls
from latentsearch.query import planner
from latentsearch.query.search import scope_of
from latentsearch.store.acl import access

FILTERS = [
    ("p = 3 (10%)", {"p": 3}, None),
    ("p in 1..5 (50%)", {"p": {"$in": [1, 2, 3, 4, 5]}}, None),
    ("g < 10 (1%)", {"g": {"$lt": 10}}, None),
    ("g = 7 (0.1%)", {"g": 7}, None),
    ("ACL: public only (33%)", None, []),
    ("ACL + p = 3 (3%)", {"p": 3}, []),
]


def median_ms(fn, repeat: int = 15) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ls.connect(tmp, database=args.database, device="cpu") as db,
    ):
        col = db.create_collection(f"bench{rng.integers(1 << 30)}", dim=args.dim, index="Flat")
        for s in range(0, args.n, 5000):
            idx = range(s, min(s + 5000, args.n))
            col.add(
                vectors=x[s : s + 5000],
                ids=[f"i{i}" for i in idx],
                metadata=[{"g": i % 1000, "p": i % 10} for i in idx],
                acl=[["*"] if i % 3 == 0 else ["group:eng"] for i in idx],
            )
        q = rng.normal(size=args.dim).astype(np.float32)
        base = median_ms(lambda: col.search(q, k=10))
        print(
            f"{args.n} x {args.dim} vectors, Flat index, {db.store.dialect}, {platform.processor() or platform.machine()}"
        )
        print(
            f"{'filter':28} {'kept':>7} {'route':>16} {'filtered ms':>12} {'unfiltered ms':>14} {'ratio':>6}"
        )
        for name, where, principals in FILTERS:
            sc = scope_of(col._space, where, access(principals, required=False))
            _, plan = planner.top_k(col._space, q[None, :] / np.linalg.norm(q), 10, sc)
            ms = median_ms(lambda w=where, p=principals: col.search(q, k=10, where=w, principals=p))
            print(
                f"{name:28} {sc.size / args.n:>7.1%} {plan.strategy:>16} {ms:>12.1f} {base:>14.1f} {ms / base:>6.1f}"
            )
        db.drop_collection(col.name)


if __name__ == "__main__":
    main()
