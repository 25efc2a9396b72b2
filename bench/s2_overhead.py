"""S2's per-query overhead against raw FAISS, robust to a busy machine (issue 16).

    PYTHONPATH=. python -m bench.s2_overhead DIR SPEC --build N   # once: data + collection
    PYTHONPATH=. python -m bench.s2_overhead DIR SPEC             # measure
    PYTHONPATH=. python -m bench.s2_overhead DIR SPEC --profile   # where ours spends a query

The same data and index spec for both; raw FAISS and ``search_vectors`` are timed query by
query, interleaved, so both see the same load; low percentiles (p5, p10) approximate a quiet
machine. Batched: 1,000 queries per call, best of 7 (alternating). nprobe 8, k=10.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def build(folder: Path, n: int, spec: str) -> None:
    import latentsearch as ls
    from bench.data import gaussian_mixture

    folder.mkdir(parents=True, exist_ok=True)
    allx = gaussian_mixture(n + 1000, 384)
    np.save(folder / "queries.npy", allx[n:])
    np.save(folder / "base.npy", allx[:n])
    db = ls.connect(folder / "db", device="cpu")
    col = db.create_collection("s2", dim=384, index=spec)
    for s in range(0, n, 50_000):
        col.add(vectors=allx[s : s + 50_000], ids=[f"v{i}" for i in range(s, min(n, s + 50_000))])
    col.flush()
    db.close()


def measure(folder: Path, spec: str) -> None:
    import faiss

    import latentsearch as ls
    from latentsearch.index import configure

    q = np.load(folder / "queries.npy").astype(np.float32)
    db = ls.connect(folder / "db", device="cpu")
    col = db.collection("s2")
    col.index.search_params.update({"nprobe": 8})
    configure()
    base = np.load(folder / "base.npy", mmap_mode="r")
    index = faiss.index_factory(384, spec, faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(base[:100_000]))
    for s in range(0, len(base), 100_000):
        index.add(np.ascontiguousarray(base[s : s + 100_000]))
    faiss.ParameterSpace().set_index_parameter(index, "nprobe", 8)

    def floor(x: np.ndarray) -> object:
        return index.search(x, 10)

    def ours(x: np.ndarray) -> object:
        return col.search_vectors(x, 10)

    for x in q[:50]:
        floor(x[None])
        ours(x[None])
    f_t, o_t = [], []
    for _ in range(3):
        for x in q:
            t = time.perf_counter()
            floor(x[None])
            f_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            ours(x[None])
            o_t.append(time.perf_counter() - t)
    fa, oa = np.array(f_t) * 1e6, np.array(o_t) * 1e6
    for p in (5, 10, 25, 50):
        fp, op = np.percentile(fa, p), np.percentile(oa, p)
        print(f"single p{p}: floor {fp:.1f} ours {op:.1f} us  ratio {op / fp:.2f}")
    bf, bo = [], []
    for _ in range(7):
        t = time.perf_counter()
        floor(q)
        bf.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours(q)
        bo.append(time.perf_counter() - t)
    print(
        f"batch min: floor {min(bf) * 1e3:.1f} ours {min(bo) * 1e3:.1f} ms "
        f"ratio {min(bo) / min(bf):.2f}; median ratio {np.median(bo) / np.median(bf):.2f}"
    )
    db.close()


def profile(folder: Path) -> None:
    """cProfile of 800 single searches (after 200 other ones, not profiled), by cumulative time."""
    import cProfile
    import pstats

    import latentsearch as ls

    q = np.load(folder / "queries.npy").astype(np.float32)
    with ls.connect(folder / "db", device="cpu") as db:
        col = db.collection("s2")
        col.index.search_params.update({"nprobe": 8})
        for x in q[800:]:
            col.search_vectors(x[None], 10)
        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        for x in q[:800]:
            col.search_vectors(x[None], 10)
        prof.disable()
        print(f"{(time.perf_counter() - t) / 800 * 1e6:.1f} us per query (profiled)")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    folder, spec = Path(sys.argv[1]), sys.argv[2]
    if "--build" in sys.argv:
        build(folder, int(sys.argv[sys.argv.index("--build") + 1]), spec)
    elif "--profile" in sys.argv:
        profile(folder)
    else:
        measure(folder, spec)
