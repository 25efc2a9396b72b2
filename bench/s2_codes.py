"""S2 with quantised codes refined from disk: build phases, peak RSS and recall, ours vs raw FAISS.

    PYTHONPATH=. python -m bench.s2_codes [--n 1000000] [--spec IVF2048,RaBitQ]

The 10M goals of issue 16 (build ≤ 1.5× raw FAISS on the same index spec; peak RSS ≤ 4 GiB at
recall@10 ≥ 0.95) on S2's data (`bench.s2_synthetic.prepare`: the Gaussian mixture, 1,000
held-out queries, exact ground truth). Each system builds in its own child (peak RSS = VmHWM):

* floor: raw FAISS, the same codes refined from float16 vectors held in memory
  (``<spec>,Refine(SQfp16)``, k_factor 10: what FAISS alone needs for the same recall);
* ours: a raw-vector collection with the spec itself (SQLite store), vectors added in batches
  of 50k through the bulk path, then ``flush()`` (tuning) and ``close()`` (saving); searched
  after reopening. Its codes stay in memory; the float16 rows are in the vector file on disk.

Phases are timed in the child: for ours, SQL writes and index mirroring (time inside the
keeper's ``apply``) within the adds, then flush and close; for the floor, training and adding.
Results go to ``bench/results/s2-codes-<n>.json`` and are printed as they come.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS, emit, peak_rss_mib, run_child
from bench.s2_synthetic import BATCH, DIM, K, prepare, read_chunks, recall, timed_qps

FACTOR = 10  # candidates per hit rescored exactly, as the engine's default


def child_floor(folder: Path, n: int, spec: str) -> dict[str, Any]:
    import faiss

    from latentsearch.index import configure, min_train_size

    configure()
    queries, gt = np.load(folder / "queries.npy"), np.load(folder / "gt.npy")
    t = time.perf_counter()
    index = faiss.index_factory(DIM, f"{spec},Refine(SQfp16)", faiss.METRIC_INNER_PRODUCT)
    train_n = min(n, -(-min_train_size(spec) // BATCH) * BATCH)
    index.train(next(read_chunks(folder, n, train_n))[1])
    trained = time.perf_counter() - t
    for _, x in read_chunks(folder, n):
        index.add(x)
    build = time.perf_counter() - t
    index.k_factor = FACTOR
    ps, nprobe = faiss.ParameterSpace(), 1
    while True:  # the smallest power of two that reaches the target recall
        ps.set_index_parameter(index, "nprobe", nprobe)
        if recall(index.search(queries, K)[1], gt) >= 0.95 or nprobe >= 1024:
            break
        nprobe *= 2
    found = index.search(queries, K)[1]
    single, batched = timed_qps(lambda q: index.search(q, K), queries)
    return {
        "build_s": build,
        "phases": {"train_s": trained, "add_s": build - trained},
        "rss_mib": peak_rss_mib(),
        "recall": recall(found, gt),
        "qps_single": single,
        "qps_batch": batched,
        "params": {"nprobe": nprobe, "k_factor": FACTOR},
    }


def child_ours(folder: Path, n: int, spec: str) -> dict[str, Any]:
    import latentsearch as ls

    queries, gt = np.load(folder / "queries.npy"), np.load(folder / "gt.npy")
    phases: dict[str, float] = {"index_s": 0.0}
    rss: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t = time.perf_counter()
        db = ls.connect(tmp, device="cpu")
        col = db.create_collection("s2", dim=DIM, index=spec)
        keeper = col._keeper  # the bench times the index's share of each add
        apply = keeper.apply

        def timed_apply(*args: Any, **kwargs: Any) -> None:
            t0 = time.perf_counter()
            apply(*args, **kwargs)
            phases["index_s"] += time.perf_counter() - t0

        keeper.apply = timed_apply  # type: ignore[method-assign]
        for start, x in read_chunks(folder, n):
            col.add(vectors=x, ids=[f"v{i}" for i in range(start, start + len(x))])
        phases["adds_s"] = time.perf_counter() - t
        phases["sql_s"] = phases["adds_s"] - phases["index_s"]
        rss["after_adds"] = peak_rss_mib()
        col.flush()
        phases["flush_s"] = time.perf_counter() - t - phases["adds_s"]
        rss["after_flush"] = peak_rss_mib()
        db.close()
        build = time.perf_counter() - t
        phases["close_s"] = build - phases["adds_s"] - phases["flush_s"]
        rss["after_close"] = peak_rss_mib()
        del col, db, keeper
        gc.collect()
        with ls.connect(tmp, device="cpu") as db:
            col = db.collection("s2")
            info = col.index_info()
            found = np.asarray(
                [[int(h.id[1:]) for h in hits] for hits in col.search_vectors(queries, K)]
            )
            single, batched = timed_qps(lambda q: col.search_vectors(q, K), queries)
            disk = {p.name: p.stat().st_size for p in Path(tmp).iterdir() if p.is_file()}
    return {
        "build_s": build,
        "phases": phases,
        "rss_phases_mib": rss,
        "rss_mib": peak_rss_mib(),
        "recall": recall(found, gt),
        "qps_single": single,
        "qps_batch": batched,
        "params": info.params,
        "spec": info.spec,
        "disk_bytes": disk,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--spec", default=None, help="default: IVF2048,RaBitQ (1M), IVF4096,RaBitQ")
    ap.add_argument("--only", choices=["floor", "ours"], help="run one system")
    ap.add_argument("--child", choices=["floor", "ours"], help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    spec = args.spec or ("IVF4096,RaBitQ" if args.n >= 5_000_000 else "IVF2048,RaBitQ")
    if args.child:
        run = child_floor if args.child == "floor" else child_ours
        emit(run(args.dir, args.n, spec))
        return
    started = time.time()
    out: dict[str, Any] = {"n": args.n, "spec": spec, "started": time.ctime(started)}
    path = RESULTS / f"s2-codes-{args.n // 1000}k.json"
    with tempfile.TemporaryDirectory(prefix="s2codes-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        prepare(args.n, folder)
        out["prepare_s"] = time.perf_counter() - t
        for kind in ("floor", "ours"):
            if args.only and kind != args.only:
                continue
            argv = ["-m", "bench.s2_codes", "--child", kind, "--dir", str(folder)]
            argv += ["--n", str(args.n), "--spec", spec]
            out[kind] = run_child(argv, timeout=4 * 3600)
            print(kind, json.dumps(out[kind]), flush=True)
            path.write_text(json.dumps(out, indent=1))
    if "floor" in out and "ours" in out:
        out["build_ratio"] = out["ours"]["build_s"] / out["floor"]["build_s"]
    out["finished"] = time.ctime()
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k not in ("floor", "ours")}), flush=True)


if __name__ == "__main__":
    main()
