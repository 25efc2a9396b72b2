"""S3 head to head: several builds of latentsearch and LanceDB, queries interleaved in one run.

    PYTHONPATH=. python -m bench.s3_versus --ours after=. --ours before=/tmp/s3-before \\
        --folder /tmp/s3x/cmp --specs IVF1024,Flat HNSW32 [--n 100000 --nq 100]

On a shared, busy machine absolute latencies drift by several times within minutes, so each
system runs in a child process of its own and the parent asks them the same query in turn
(``case j`` to every child before ``case j+1``): every system meets the same load, and the ratios
hold where the absolute figures do not. ``--ours NAME=PATH`` runs latentsearch from the checkout
at PATH (PYTHONPATH) on the collections that ``--folder`` holds, one per spec, built beforehand
with `bench.s3_filtered.build_ours` (a build takes minutes; the query paths compared never write).
LanceDB (`lancedb`, embedded) gets the same vectors in a table with scalar indexes on the filter
columns (BTREE on ``b``, BITMAP on ``color`` and ``grp``) and an IVF_PQ vector index (256
partitions, 48 sub-vectors, cosine), searched with ``prefilter=True``, ``nprobes=32`` and
``refine_factor=10``, as its documentation recommends for filtered search; ``lancedb-flat``
searches the same table without the vector index (exact, still prefiltered).

Writes bench/results/s3-versus.json (recall@10, short answers, p50 per system and case).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.s3_workload import CALLER, CASES, K, sql_where, where_for, with_acl, workload

RESULTS = Path(__file__).parent / "results"


def serve(ask: Any) -> None:
    """The child's loop: ``case j`` in, ``{"ids": [...], "s": seconds}`` out, until EOF."""
    print("ready", flush=True)
    for line in sys.stdin:
        case, j = line.split()
        t = time.perf_counter()
        ids = ask(case, int(j))
        print(json.dumps({"ids": ids, "s": time.perf_counter() - t}), flush=True)


def child_ours(folder: str, spec: str, n: int, nq: int) -> None:
    import latentsearch as ls

    w = workload(n, nq)
    db = ls.connect(Path(folder) / spec.replace(",", "-"))
    col = db.collection(f"s3-{spec.replace(',', '-')}")

    def ask(case: str, j: int) -> list[str]:
        hits = col.search(
            w.q[j], k=K, where=where_for(case, j), principals=CALLER if with_acl(case) else None
        )
        return [h.id for h in hits]

    serve(ask)


def child_lance(n: int, nq: int, flat: bool) -> None:
    import lancedb
    import pyarrow as pa

    w = workload(n, nq)
    tmp = tempfile.mkdtemp(prefix="s3-lance-")
    db = lancedb.connect(tmp)
    table = pa.table(
        {
            "id": [f"i{i}" for i in range(w.n)],
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(w.x.astype(np.float32).reshape(-1)), w.x.shape[1]
            ),
            "b": w.b.astype(np.int64),
            "color": [w.metadata(i)["color"] for i in range(w.n)],
            "grp": w.grp,
        }
    )
    tbl = db.create_table("s3", table)
    tbl.create_scalar_index("b", index_type="BTREE")
    tbl.create_scalar_index("color", index_type="BITMAP")
    tbl.create_scalar_index("grp", index_type="BITMAP")
    if not flat:
        tbl.create_index(metric="cosine", num_partitions=256, num_sub_vectors=48)

    def ask(case: str, j: int) -> list[str]:
        q = tbl.search(w.q[j]).metric("cosine").limit(K).select(["id", "_distance"])
        cond = sql_where(case, j)
        if cond:
            q = q.where(cond, prefilter=True)
        q = q.bypass_vector_index() if flat else q.nprobes(32).refine_factor(10)
        return [str(r) for r in q.to_arrow()["id"].to_pylist()]

    serve(ask)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", action="append", default=[], help="NAME=CHECKOUT")
    ap.add_argument("--folder", default="/tmp/s3x/cmp")
    ap.add_argument("--specs", nargs="+", default=["IVF1024,Flat", "HNSW32"])
    ap.add_argument("--no-lance", action="store_true")
    ap.add_argument("--lance-flat-only", action="store_true", help="skip the IVF_PQ build")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--nq", type=int, default=100)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "ours":
            child_ours(rest[0], rest[1], args.n, args.nq)
        else:
            child_lance(args.n, args.nq, flat=kind == "lance-flat")
        return
    children: dict[str, subprocess.Popen[str]] = {}
    base = [sys.executable, "-m", "bench.s3_versus", "--n", str(args.n), "--nq", str(args.nq)]
    for entry in args.ours:
        name, path = entry.split("=", 1)
        env = {**os.environ, "PYTHONPATH": str(Path(path).resolve())}
        for spec in args.specs:
            cmd = [*base, "--child", "ours", args.folder, spec]
            # cwd too: ``python -m`` puts the working directory first on sys.path
            children[f"{name} {spec}"] = _spawn(cmd, env, cwd=path)
    if not args.no_lance:
        for kind in ("lance-flat",) if args.lance_flat_only else ("lance", "lance-flat"):
            children["lancedb IVF_PQ" if kind == "lance" else "lancedb flat"] = _spawn(
                [*base, "--child", kind], dict(os.environ)
            )
    for name, p in children.items():
        assert p.stdout is not None
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} did not start")
    w = workload(args.n, args.nq)
    truth = {case: _truth(w, case) for case in CASES}
    got: dict[str, dict[str, list[Any]]] = {name: {} for name in children}
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for case in CASES:
        for name in children:
            got[name][case] = []
        for j in [0, 1, 2, *range(args.nq)]:  # the first three again: warm-up
            # In a fresh order each round: no system always goes first after the parent's pause.
            for name in rng.permutation(list(children)).tolist():
                p = children[name]
                assert p.stdin is not None and p.stdout is not None
                p.stdin.write(f"{case} {j}\n")
                p.stdin.flush()
                got[name][case].append(json.loads(p.stdout.readline()))
    for p in children.values():
        assert p.stdin is not None
        p.stdin.close()
    out = _summary(got, truth, args)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "s3-versus.json").write_text(json.dumps(out, indent=1))
    _print(out)


def _spawn(cmd: list[str], env: dict[str, str], cwd: str = ".") -> subprocess.Popen[str]:
    return subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd
    )


def _truth(w: Any, case: str) -> list[set[str]]:
    from bench.s3_workload import truth

    return [{f"i{r}" for r in rows} for rows in truth(w, case)]


def _summary(got: dict[str, Any], truth: dict[str, Any], args: Any) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, per in got.items():
        table[name] = {}
        for case, answers in per.items():
            answers = answers[3:]
            rec = [
                len(set(a["ids"]) & t) / len(t) if t else 1.0
                for a, t in zip(answers, truth[case], strict=True)
            ]
            short = sum(len(a["ids"]) < len(t) for a, t in zip(answers, truth[case], strict=True))
            p50 = 1000 * statistics.median(a["s"] for a in answers)
            table[name][case] = {"recall": float(np.mean(rec)), "short": short, "p50_ms": p50}
    return {
        "command": " ".join(["python", "-m", "bench.s3_versus", *sys.argv[1:]]),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "load": os.getloadavg(),
        "n": args.n,
        "nq": args.nq,
        "detail": table,
    }


def _print(out: dict[str, Any]) -> None:
    cases = CASES
    print(f"{'system':28}" + "".join(f"{c:>18}" for c in cases))
    for name, per in out["detail"].items():
        cells = [
            f"{per[c]['p50_ms']:7.2f} {per[c]['recall']:.3f} {per[c]['short']:>3}" for c in cases
        ]
        print(f"{name:28}" + "".join(f"{c:>18}" for c in cells))
    print("cells: p50 ms, recall@10, short answers; load", out["load"], "wall", out["wall_s"], "s")


if __name__ == "__main__":
    main()
