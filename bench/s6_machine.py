"""S6: the machine's limit, and flat search throughput as a fraction of it.

The limit (`bench.s6_limits`): memory read bandwidth (numpy sums over a float32 array far larger
than the last-level cache, one thread and one thread per core, best of several) and sgemm
GFLOP/s (float32 matrix products with numpy's OpenBLAS and with the OpenBLAS that FAISS links,
one thread and all threads, best of several).

Flat search over n random unit 384-d vectors (n = 1M; 50k with ``--quick``), k=10:

* single query: bytes scanned per second, ``n·d·4 / latency`` (median of many queries), against
  the bandwidth;
* batched (1,000 queries): ``2·nq·n·d / time`` GFLOP/s against sgemm;

for raw FAISS (``IndexFlatIP``: the floor) and for latentsearch (a raw-vector collection with a
Flat index, ``search_vectors``, hydration of the hits from SQLite included), each in its own
process, at FAISS's default thread count (one per core) and at one thread.

    PYTHONPATH=. python -m bench.s6_machine [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Goal, Metric, Report, Row, emit, report, run_child
from bench.s6_limits import limits

DIM, K, SEED = 384, 10, 6
FULL = {"n": 1_000_000, "nq": 1000, "single": 100}
QUICK = {"n": 50_000, "nq": 200, "single": 30}


def chunks(n: int, size: int = 100_000) -> Iterator[np.ndarray]:
    """The data set: n random unit vectors, generated in chunks (same data in every process)."""
    rng = np.random.default_rng(SEED)
    for start in range(0, n, size):
        x = rng.standard_normal((min(size, n - start), DIM), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x


def queries(nq: int) -> np.ndarray:
    q = np.random.default_rng(SEED + 1).standard_normal((nq, DIM), dtype=np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def measure(search: Callable[[np.ndarray], Any], n: int, size: dict[str, int]) -> dict[str, Any]:
    """Single-query latency and batched throughput at the default and at one FAISS thread."""
    import faiss

    q = queries(size["nq"])
    out: dict[str, Any] = {}
    default = faiss.omp_get_max_threads()
    for threads in (default, 1):
        faiss.omp_set_num_threads(threads)
        for i in range(3):
            search(q[i : i + 1])
        lat = []
        for i in range(size["single"]):
            t = time.perf_counter()
            search(q[i : i + 1])
            lat.append(time.perf_counter() - t)
        search(q[: min(50, len(q))])
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            search(q)
            best = min(best, time.perf_counter() - t)
        med = statistics.median(lat)
        out[str(threads)] = {
            "threads": threads,
            "single_ms": 1000 * med,
            "single_gbs": n * DIM * 4 / med / 1e9,
            "batch_qps": len(q) / best,
            "batch_gflops": 2 * len(q) * n * DIM / best / 1e9,
        }
    faiss.omp_set_num_threads(default)
    return out


def child_floor(size: dict[str, int]) -> dict[str, Any]:
    import faiss

    index = faiss.IndexFlatIP(DIM)
    for x in chunks(size["n"]):
        index.add(x)
    return measure(lambda q: index.search(q, K), size["n"], size)


def child_ours(size: dict[str, int]) -> dict[str, Any]:
    import latentsearch as ls

    with tempfile.TemporaryDirectory(prefix="s6-") as tmp:
        db = ls.connect(Path(tmp) / "index", device="cpu")
        col = db.create_collection("flat", dim=DIM, index="Flat", metric="ip")
        t = time.perf_counter()
        start = 0
        for x in chunks(size["n"]):
            col.add(vectors=x, ids=[str(i) for i in range(start, start + len(x))])
            start += len(x)
        build_s = time.perf_counter() - t
        out = measure(lambda q: col.search_vectors(q, K), size["n"], size)
        db.close()
    out["build_s"] = build_s
    return out


def _rows(label: str, kind: str, res: dict[str, Any]) -> list[Row]:
    rows = []
    for r in res.values():
        if not isinstance(r, dict):
            continue
        vals = {m: r[m] for m in ("single_ms", "single_gbs", "batch_qps", "batch_gflops")}
        rows.append(Row(f"{label}, {r['threads']} thread(s)", kind, vals))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", choices=["floor", "ours"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    size = QUICK if args.quick else FULL
    if args.child:
        emit((child_floor if args.child == "floor" else child_ours)(size))
        return
    t0 = time.perf_counter()
    lim = limits(quick=args.quick)
    extra = ["--quick"] if args.quick else []
    floor = run_child(["-m", "bench.s6_machine", "--child", "floor", *extra], python=sys.executable)
    ours = run_child(["-m", "bench.s6_machine", "--child", "ours", *extra], python=sys.executable)
    bw, sg = lim["bandwidth_gbs"], lim["sgemm_gflops"]
    rows = [
        *_rows("latentsearch search_vectors, Flat", "ours", ours),
        *_rows("raw FAISS IndexFlatIP", "floor", floor),
        Row("memory read bandwidth", "limit", {"single_gbs": bw}, lim["bandwidth_how"]),
        Row("sgemm", "limit", {"batch_gflops": sg}, lim["sgemm_how"]),
    ]
    ours_runs = [r for r in ours.values() if isinstance(r, dict)]
    floor_runs = [r for r in floor.values() if isinstance(r, dict)]
    single = max(r["single_gbs"] for r in ours_runs)
    batched = max(r["batch_gflops"] for r in ours_runs)
    f_single = max(r["single_gbs"] for r in floor_runs)
    f_batched = max(r["batch_gflops"] for r in floor_runs)
    n = size["n"]
    rep = Report(
        scenario="S6",
        title="the machine's limit: flat search vs memory bandwidth and sgemm",
        data=(
            f"{n:,} random unit {DIM}-d float32 vectors ({n * DIM * 4 / 2**20:,.0f} MiB), "
            f"inner product, k={K}; single queries: median of {size['single']}; "
            f"batched: {size['nq']} queries in one call"
        ),
        metrics=[
            Metric("single_ms", "1 query ms", "lower", "{:.2f}"),
            Metric("single_gbs", "1 query GB/s scanned", "higher", "{:.1f}"),
            Metric("batch_qps", "batched q/s", "higher", "{:,.0f}"),
            Metric("batch_gflops", "batched GFLOP/s", "higher", "{:.1f}"),
        ],
        rows=rows,
        goals=[
            Goal(
                "single-query flat search vs memory read bandwidth",
                "≥ 70%",
                f"{100 * single / bw:.0f}% ({single:.1f} of {bw:.1f} GB/s; raw FAISS "
                f"{100 * f_single / bw:.0f}%)",
                single >= 0.7 * bw,
            ),
            Goal(
                "batched flat search vs sgemm",
                "≥ 70%",
                f"{100 * batched / sg:.0f}% ({batched:.1f} of {sg:.1f} GFLOP/s; raw FAISS "
                f"{100 * f_batched / sg:.0f}%)",
                batched >= 0.7 * sg,
            ),
        ],
        notes=[
            f"latentsearch build of {n:,} raw vectors (SQLite + FAISS): {ours['build_s']:.1f} s",
            f"limits: {lim['detail']}",
            "the goals take each system's best thread setting against the best limit",
            *(
                [
                    "--quick: 50k vectors (73 MiB, still 2× the L3 cache), 200 batched queries, smaller probes"
                ]
                if args.quick
                else []
            ),
        ],
        extra={"limits": lim, "floor": floor, "ours": ours},
    )
    report(rep, quick=args.quick, started=t0)


if __name__ == "__main__":
    main()
