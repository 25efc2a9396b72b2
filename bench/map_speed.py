"""The explorer's map: how long `Collection.map` takes to fit, to answer from its cache, and to
place one new point, and the memory it uses (issue 14's goals).

* a map of 100k items (fit on a 20k sample, the rest transformed, clusters included): ≤ 60 s;
* the same map again, cached: ≤ 2 s;
* one new point placed on the map (`Collection.project` of one vector): ≤ 50 ms (median);
* the peak resident memory of the process (reported, no goal).

The collection holds ``--n`` synthetic vectors of ``--dim`` dimensions (default 384, the bundled
text model's) drawn around 40 centres on the sphere, in a raw-vector collection on SQLite in
``--work``. Each figure is printed with its ratio to the goal (below 1 meets it). The first
UMAP fit in a process includes numba's compilation of UMAP's layout code (about 7 s on the
development machine); ``--warm`` fits a small map first so that the timed figure is the fit
alone.

    python -m bench.map_speed [--n 100000] [--method umap|pca] [--warm] [--work bench-out/map_speed]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from bench.common import peak_rss_mib
from latentsearch import connect

GOALS = {"map_s": 60.0, "cached_s": 2.0, "transform_ms": 50.0}


def vectors(n: int, dim: int, seed: int = 0, centres: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    x = c[rng.integers(0, centres, n)] + rng.normal(scale=0.6 / np.sqrt(dim), size=(n, dim))
    return x.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--method", choices=["umap", "pca"], default="umap")
    ap.add_argument("--warm", action="store_true", help="fit a small map first (numba compiles)")
    ap.add_argument("--runs", type=int, default=50, help="timed single-point transforms")
    ap.add_argument("--work", type=Path, default=Path("bench-out/map_speed"))
    args = ap.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    db = connect(args.work, device="cpu")
    x = vectors(args.n, args.dim)
    t = time.perf_counter()
    col = db.create_collection("map", dim=args.dim, index="Flat")
    for lo in range(0, args.n, 20_000):
        col.add(
            vectors=x[lo : lo + 20_000],
            ids=[f"i{i:07d}" for i in range(lo, min(lo + 20_000, args.n))],
        )
    add_s = time.perf_counter() - t
    if args.warm:
        small = db.create_collection("warm", dim=args.dim, index="Flat")
        small.add(vectors=x[:500], ids=[f"w{i}" for i in range(500)])
        small.map(method=args.method)

    t = time.perf_counter()
    m = col.map(method=args.method)
    map_s = time.perf_counter() - t
    t = time.perf_counter()
    again = col.map(method=args.method)
    cached_s = time.perf_counter() - t
    assert again.cached and len(again.points) == args.n == len(m.points)

    probe = vectors(args.runs + 3, args.dim, seed=1)
    col.project(probe[:3], method=args.method)  # warm-up
    times = []
    for v in probe[3:]:
        t = time.perf_counter()
        col.project(v, method=args.method)
        times.append(time.perf_counter() - t)
    transform_ms = 1000 * statistics.median(times)

    out = {
        "n": args.n,
        "dim": args.dim,
        "method": m.method,
        "fitted_on": m.fitted_on,
        "clusters": len(m.clusters),
        "add_s": round(add_s, 2),
        "map_s": round(map_s, 2),
        "cached_s": round(cached_s, 3),
        "transform_ms": round(transform_ms, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    out["ratios_to_goal"] = {k: round(out[k] / g, 3) for k, g in GOALS.items()}  # type: ignore[operator]
    print(json.dumps(out, indent=2))
    db.close()


if __name__ == "__main__":
    main()
