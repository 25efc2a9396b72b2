"""S2: synthetic 384-d vectors at scale: build time, peak RSS, recall@10 and QPS, ours vs raw FAISS.

    PYTHONPATH=. python -m bench.s2_synthetic [--quick] [--no-10m]

Data: `bench.data.gaussian_mixture` (L2-normalised rows of a 100-cluster Gaussian mixture with
low-rank cluster shapes), 100k, 1M and 10M rows (``--quick``: 100k only; ``--no-10m``: no 10M);
1,000 held-out queries from the same mixture; ground truth by exact inner-product search.

Systems, each built in its own child process (so peak RSS is the build's own), same index
factory string and the same nprobe/efSearch:

* floor: raw FAISS (`faiss.index_factory`, trained on the same rows the engine trains on);
* ours: a latentsearch raw-vector collection (SQLite store), vectors added with ids in batches
  of 50k, closed, reopened and searched with `search_vectors`, which includes the SQL hydration
  of the k=10 hits.

At 10M only the floor and the explicit-spec collection run (IVF4096,SQ8: 3.9 GB of codes; 4,096
lists keep k-means and assignment under 10 minutes on 2 cores, where 16,384 would take an hour):
each 10M build takes most of an hour here, and the ``auto`` rows' choices are covered at 1M. The
10M run needs about 50 GB of free disk (the raw rows, the SQL store and the index).

The search parameter is the smallest power of two at which the floor reaches recall@10 >= 0.95
(``index="auto"`` rows tune their own). Build = all adds + ``flush()`` + closing the database for ours (rows
and vectors durable in SQL, background index work finished, index tuned and saved); training + adds for the floor.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    RESULTS,
    Goal,
    Metric,
    Report,
    Row,
    emit,
    peak_rss_mib,
    plain_command,
    report,
    run_child,
)
from bench.data import gaussian_mixture

DIM, K, QUERIES, SINGLE, BATCH = 384, 10, 1000, 300, 50_000
TARGET = 0.95
SINGLE_GOAL, BATCH_GOAL = 1.5, 1.2  # time per query, ours / raw FAISS's (issue 16)
# (label, n, index spec); "auto" rows need no search parameter (the engine tunes its own).
SIZES = {100_000: "IVF1024,Flat", 1_000_000: "IVF2048,Flat", 10_000_000: "IVF4096,SQ8"}
BIG = 10_000_000  # sizes from here run the floor and the explicit-spec collection only
DISK_10M = 50e9  # measured: raw rows 15.4 GB, SQL store 23-27 GB, index 3.9 GB
SYSTEMS = [
    ("raw FAISS", "floor", None),  # None: the size's spec
    ("latentsearch", "ours", None),
    ("latentsearch auto", "ours", "auto"),  # chooses its index and tunes nprobe itself
    ("latentsearch auto float16", "ours", "auto:float16"),  # the same, with 2-byte codes
    ("LanceDB IVF_HNSW_SQ", "peer", "lancedb"),  # its own index and tuning (bench.s2_lance)
]


# -- data on disk, shared by the children ----------------------------------------------------
def prepare(n: int, folder: Path) -> None:
    """Write base.f32 (n rows), queries.npy and gt.npy (exact top-k ids) under ``folder``."""
    import faiss

    allx = gaussian_mixture(n + QUERIES, DIM)
    base, queries = allx[:n], np.ascontiguousarray(allx[n:])
    base.tofile(folder / "base.f32")
    np.save(folder / "queries.npy", queries)
    _, gt = faiss.knn(queries, base, K, metric=faiss.METRIC_INNER_PRODUCT)
    np.save(folder / "gt.npy", gt)


def read_chunks(folder: Path, n: int, size: int = BATCH):
    """(start, rows) chunks of base.f32, read from the file so no child holds the whole set."""
    with open(folder / "base.f32", "rb") as f:
        for start in range(0, n, size):
            rows = min(size, n - start)
            yield start, np.fromfile(f, dtype=np.float32, count=rows * DIM).reshape(rows, DIM)


def recall(found: np.ndarray, gt: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(g)) / K for f, g in zip(found, gt, strict=True)]))


def search_param(spec: str) -> str:
    return "efSearch" if "HNSW" in spec else "nprobe"


# -- children --------------------------------------------------------------------------------
def timed_qps(search: Any, queries: np.ndarray) -> tuple[float, float]:
    """(single-query QPS over the first SINGLE queries, batched QPS over all: best of 3)."""
    for q in queries[:5]:
        search(q[None, :])
    t = time.perf_counter()
    for q in queries[:SINGLE]:
        search(q[None, :])
    single = SINGLE / (time.perf_counter() - t)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        search(queries)
        best = min(best, time.perf_counter() - t)
    return single, len(queries) / best


def child_floor(folder: Path, n: int, spec: str, param: int | None) -> dict[str, Any]:
    import faiss

    from latentsearch.index import configure, min_train_size

    configure()  # the floor runs with the FAISS settings a Database applies (BLAS threshold)
    queries, gt = np.load(folder / "queries.npy"), np.load(folder / "gt.npy")
    t = time.perf_counter()
    index = faiss.index_factory(DIM, spec, faiss.METRIC_INNER_PRODUCT)
    # The engine trains once its pending rows reach min_train_size, which it sees in BATCH steps.
    train_n = min(n, math.ceil(min_train_size(spec) / BATCH) * BATCH)
    if not index.is_trained:
        index.train(next(read_chunks(folder, n, train_n))[1])
    for _, x in read_chunks(folder, n):
        index.add(x)
    build = time.perf_counter() - t
    ps, name = faiss.ParameterSpace(), search_param(spec)
    if param is None:  # the smallest power of two that reaches the target recall
        param = 1
        while True:
            ps.set_index_parameter(index, name, param)
            if recall(index.search(queries, K)[1], gt) >= TARGET or param >= 4096:
                break
            param *= 2
    ps.set_index_parameter(index, name, param)
    found = index.search(queries, K)[1]
    single, batched = timed_qps(lambda q: index.search(q, K), queries)
    return _result(build, recall(found, gt), single, batched, {name: param})


def child_ours(folder: Path, n: int, spec: str, param: int | None) -> dict[str, Any]:
    import latentsearch as ls

    queries, gt = np.load(folder / "queries.npy"), np.load(folder / "gt.npy")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t = time.perf_counter()
        db = ls.connect(tmp, device="cpu")
        index, _, storage = spec.partition(":")
        col = db.create_collection("s2", dim=DIM, index=index, storage=storage or "float32")
        for start, x in read_chunks(folder, n):
            col.add(vectors=x, ids=[f"v{i}" for i in range(start, start + len(x))])
        # Every add is durable in SQL when it returns. flush() waits for background index work
        # (index="auto" re-chooses as it grows) and tunes what is untuned; closing saves.
        col.flush()
        db.close()
        build = time.perf_counter() - t
        del col, db
        gc.collect()  # a closed collection sits in reference cycles; free its index before reopening
        with ls.connect(tmp, device="cpu") as db:  # searched as a user would: reopened
            col = db.collection("s2")
            params = dict(col.index.search_params)
            if param is not None:
                params = {search_param(spec): param}
                col.index.search_params.update(params)

            def search(q: np.ndarray) -> list[list[Any]]:
                return col.search_vectors(q, K)

            found = np.asarray([[int(h.id[1:]) for h in hits] for hits in search(queries)])
            single, batched = timed_qps(search, queries)
            out = _result(build, recall(found, gt), single, batched, params)
            return {**out, "spec": col.index_info().spec}


def _result(build: float, rec: float, single: float, batched: float, params: dict) -> dict:
    return {
        "build_s": build,
        "rss_mib": peak_rss_mib(),
        "recall": rec,
        "qps_single": single,
        "qps_batch": batched,
        "params": params,
    }


# -- the scenario ----------------------------------------------------------------------------
METRICS = [
    Metric("build_s", "build s", "lower"),
    Metric("rss_mib", "peak RSS MiB", "lower", "{:.0f}"),
    Metric("recall", "recall@10", "higher", "{:.3f}"),
    Metric("qps_single", "QPS single", "higher", "{:.0f}"),
    Metric("qps_batch", f"QPS batch {QUERIES}", "higher", "{:.0f}"),
]


def measure(n: int, work: Path) -> list[Row]:
    folder = work / f"n{n}"
    folder.mkdir()
    prepare(n, folder)
    rows: list[Row] = []
    param: int | None = None
    for label, kind, override in SYSTEMS if n < BIG else SYSTEMS[:2]:
        if kind == "peer":
            argv = [
                "-m",
                "bench.s2_synthetic",
                "--child",
                "peer",
                "--dir",
                str(folder),
                "--n",
                str(n),
            ]
            res = run_child(argv, timeout=7200)
            note = (
                f"{res.pop('spec')}, {', '.join(f'{k}={v}' for k, v in res.pop('params').items())}"
            )
            rows.append(Row(f"{label} {n // 1000}k", kind, res, note, group=f"{n // 1000}k"))
            continue
        spec = override or SIZES[n]
        argv = ["-m", "bench.s2_synthetic", "--child", kind, "--dir", str(folder)]
        argv += ["--n", str(n), "--spec", spec]
        if param is not None and not spec.startswith("auto"):
            argv += ["--param", str(param)]
        res = run_child(argv, timeout=7200)
        if kind == "floor":
            param = next(iter(res["params"].values()))
        used = res.pop("spec", spec)
        note = f"{used}, {', '.join(f'{k}={v}' for k, v in res.pop('params').items())}"
        rows.append(Row(f"{label} {n // 1000}k", kind, res, note, group=f"{n // 1000}k"))
    shutil.rmtree(folder)
    return rows


def goals(rows: list[Row], sizes: list[int]) -> list[Goal]:
    def pick(n: int, kind: str) -> Row | None:
        return next(
            (r for r in rows if r.system.endswith(f" {n // 1000}k") and r.kind == kind), None
        )

    out = []
    for n in sizes:
        ours, floor = pick(n, "ours"), pick(n, "floor")
        if ours and floor:
            single = floor.values["qps_single"] / ours.values["qps_single"]
            batched = floor.values["qps_batch"] / ours.values["qps_batch"]
            out.append(
                Goal(
                    f"{n // 1000}k: overhead vs raw FAISS, same index and params, incl. hydration",
                    f"≤ {SINGLE_GOAL}× single, ≤ {BATCH_GOAL}× batched",
                    f"{single:.2f}× single, {batched:.2f}× batched",
                    single <= SINGLE_GOAL and batched <= BATCH_GOAL,
                )
            )
    big = pick(1_000_000, "ours")
    for r in [r for r in rows if r.kind == "ours" and r.group == "1000k"]:
        v, who = r.values, r.system.removesuffix(" 1000k")
        out += [
            Goal(
                f"1M ({who}): recall@10 at ≥ 1,000 QPS batched",
                "≥ 0.95 at ≥ 1,000 QPS",
                f"{v['recall']:.3f} at {v['qps_batch']:.0f} QPS",
                v["recall"] >= 0.95 and v["qps_batch"] >= 1000,
            ),
            Goal(
                f"1M ({who}): build time", "≤ 300 s", f"{v['build_s']:.0f} s", v["build_s"] <= 300
            ),
            Goal(
                f"1M ({who}): peak RSS",
                "≤ 2.5 GB",
                f"{v['rss_mib'] * 1.048576 / 1000:.2f} GB",
                v["rss_mib"] * 1.048576 <= 2500,
            ),
        ]
    if big is None:
        out.append(Goal("1M: recall, QPS, build, RSS", "see issue", "not run (--quick)", None))
    tenm = pick(10_000_000, "ours")
    if tenm:
        v = tenm.values
        ok = v["rss_mib"] <= 8192 and v["recall"] >= 0.90
        out.append(
            Goal(
                "10M: RSS and recall@10",
                "≤ 8 GiB, ≥ 0.90",
                f"{v['rss_mib'] / 1024:.1f} GiB, {v['recall']:.3f}",
                ok,
            )
        )
    else:
        est = (
            f"; at 10× the 1M build that is ~{10 * big.values['build_s'] / 60:.0f} min"
            if big
            else ""
        )
        out.append(
            Goal(
                "10M: RSS and recall@10",
                "≤ 8 GiB, ≥ 0.90",
                f"not run (--no-10m or --quick; the 10M part needs ~50 GB of disk{est})",
                None,
            )
        )
    return out


def kept_rows(sizes: list[int], redo: list[int]) -> tuple[list[Row], str]:
    """The rows of sizes not in ``redo`` from the last full results file, and a note saying so."""
    unknown = sorted(set(redo) - set(sizes))
    if unknown:
        raise SystemExit(f"--redo {unknown}: not sizes of this run ({sizes})")
    path = RESULTS / "s2.json"
    if not path.is_file():
        raise SystemExit(f"--redo needs a previous full run's {path}; run without --redo first")
    old = json.loads(path.read_text())
    groups = {f"{n // 1000}k" for n in sizes if n not in redo}
    rows = [Row(**r) for r in old["rows"] if r["group"] in groups]
    missing = groups - {r.group for r in rows}
    if missing:
        raise SystemExit(f"{path} has no rows for {sorted(missing)}; run without --redo")
    note = (
        f"rows of {', '.join(sorted(groups, key=len))} from the run finished {old['finished']} "
        f"(`{plain_command(old['command'])}`); {', '.join(f'{n // 1000}k' for n in redo)} measured again"
    )
    return rows, note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k only")
    ap.add_argument("--no-10m", action="store_true", help="skip 10M (the longest part of the run)")
    ap.add_argument(
        "--redo",
        type=lambda v: [
            int(float(x.lower().replace("m", "e6").replace("k", "e3"))) for x in v.split(",")
        ],
        help="measure only these sizes again (e.g. 10M) and keep the other sizes' rows from the "
        "last full run's results file, which the report notes",
    )
    ap.add_argument("--child", choices=["floor", "ours", "peer"], help=argparse.SUPPRESS)
    ap.add_argument("--systems", default="", help="labels of SYSTEMS to run (default: all)")
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    ap.add_argument("--param", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "peer":
        from bench.s2_lance import child_lance

        emit(child_lance(args.dir, args.n))
        return
    if args.child:
        run = child_floor if args.child == "floor" else child_ours
        emit(run(args.dir, args.n, args.spec, args.param))
        return
    if args.systems:
        keep = {s.strip() for s in args.systems.split(",")}
        SYSTEMS[:] = [s for s in SYSTEMS if s[0] in keep or s[1] == "floor"]
    t0 = time.perf_counter()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    if not args.quick and not args.no_10m:
        sizes.append(BIG)
    rows, kept = kept_rows(sizes, args.redo) if args.redo else ([], "")
    with tempfile.TemporaryDirectory(prefix="s2-") as tmp:
        free = shutil.disk_usage(tmp).free
        if BIG in sizes and free < DISK_10M:
            raise SystemExit(
                f"S2 at 10M needs about {DISK_10M / 1e9:.0f} GB of free disk under {tmp}, and "
                f"{free / 1e9:.0f} GB are free: free some, point TMPDIR elsewhere, or pass --no-10m"
            )
        for n in args.redo or sizes:
            rows += measure(n, Path(tmp))
    rows.sort(key=lambda r: sizes.index(int(r.group.removesuffix("k")) * 1000))
    rep = Report(
        scenario="S2",
        title="synthetic 384-d vectors: ours vs raw FAISS, same index and search parameters",
        data=f"Gaussian mixture (100 clusters), {', '.join(f'{n:,}' for n in sizes)} rows; "
        f"{QUERIES} held-out queries; k={K}",
        metrics=METRICS,
        rows=rows,
        goals=goals(rows, sizes),
        notes=[
            "ours = latentsearch raw-vector collection on SQLite: QPS includes SQL hydration "
            f"of the k={K} hits; build includes durable SQL writes and saving the index (close); searches run after reopening",
            f"single-query QPS over {SINGLE} queries; batched = {QUERIES} queries per call, best of 3",
            "search parameter: the smallest power of two where raw FAISS reaches recall@10 ≥ 0.95",
            "the table's '× floor' compares with the best floor row of any size; the overhead "
            "goals compare each size with its own floor",
            *([kept] if kept else []),
        ],
    )
    report(rep, quick=args.quick, started=t0)


if __name__ == "__main__":
    main()
