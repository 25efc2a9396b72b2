"""Memory per shard (2 shards, real Ray cluster) against the one-process index (issue 13).

``--n`` synthetic clustered 384-d unit vectors (1M by default) go into a ``Flat`` collection
with 2 shards x 1 replica on a real two-node Ray cluster (``tests/raykit.py``, in a network
namespace of its own; PostgreSQL through its Unix socket). Each shard actor's process is read
from ``/proc/<pid>/status`` (the actors run on this machine) once while the collection is still
empty (its baseline: Python, FAISS, SQLAlchemy, Ray's worker) and again after the adds; its
memory is the difference. The one-process side is a child process that opens the same SQL
collection without a cluster, measured the same way (before and after it loads the index).
Goal: the largest shard <= 0.55 x the one-process index.

``VmRSS`` (resident now) is the figure the goal uses; ``RssAnon`` leaves out shared memory
(Ray's object store maps its pages into the workers that read from it) and ``VmHWM`` is the
peak.

    PYTHONPATH=. python -m bench.cluster_memory [--n 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cluster_common import cluster, fill, isolate, memory, pg_schema, ready
from bench.common import ROOT, Goal, Metric, Report, Row, report

DIM = 384

# The one-process side, run as its own process so its memory is its own.
_SINGLE = """
import json, sys
import numpy as np
import latentsearch as ls
from bench.cluster_common import memory
db = ls.connect(sys.argv[1], database=sys.argv[2], device="cpu")
before = memory()
col = db.collection("mem")
col.search(np.ones(384, dtype=np.float32), k=1)  # the index is loaded (built from SQL) by now
print(json.dumps({"before": before, "after": memory(), "vectors": len(col)}))
"""


def inside(n: int) -> dict[str, Any]:
    import latentsearch as ls
    from bench.data import gaussian_mixture

    xb = gaussian_mixture(n, DIM, clusters=1000, seed=33)
    with cluster() as c, pg_schema() as url, tempfile.TemporaryDirectory() as tmp:
        db = ls.connect(Path(tmp) / "c", database=url, cluster=c.address, device="cpu")
        col = db.create_collection("mem", dim=DIM, index="Flat", shards=2, replicas=1)
        ready(col, xb[0])  # the shard actors are up, their indexes empty
        pids = {r.shard: r.pid for r in db.cluster_status().replicas if r.collection == "mem"}
        before = {s: memory(p) for s, p in pids.items()}
        fill_s = fill(col, xb)
        ready(col, xb[0])
        status = db.cluster_status().replicas
        after = {s: memory(p) for s, p in pids.items()}
        shards = [
            {
                "shard": s,
                "pid": pids[s],
                "vectors": next(
                    r.vectors for r in status if r.collection == "mem" and r.shard == s
                ),
                "before": before[s],
                "after": after[s],
            }
            for s in sorted(pids)
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-c", _SINGLE, str(Path(tmp) / "s"), url],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
            timeout=3600,
        )
        single = json.loads(proc.stdout.strip().splitlines()[-1])
        db.close()
    return {"n": n, "fill_s": fill_s, "shards": shards, "single": single}


def _delta(side: dict[str, Any], key: str) -> float:
    return float(side["after"][key] - side["before"][key])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    raw = sys.argv[1:] if argv is None else argv
    if isolate("bench.cluster_memory", raw):
        return
    t0 = time.perf_counter()
    res = inside(args.n)
    keys = ("VmRSS", "RssAnon", "VmHWM")
    single = {k: _delta(res["single"], k) for k in keys}
    rows = [Row("one process, Flat", "floor", {**single, "vectors": res["single"]["vectors"]})]
    for s in res["shards"]:
        vals = {k: _delta(s, k) for k in keys}
        rows.append(
            Row(f"shard {s['shard']} of 2 (Ray actor)", "ours", {**vals, "vectors": s["vectors"]})
        )
    worst = max(_delta(s, "VmRSS") for s in res["shards"])
    raw_mib = res["n"] * DIM * 4 / 2**20
    rows.append(
        Row("raw float32 vectors (n·384·4)", "limit", {"VmRSS": raw_mib, "vectors": res["n"]})
    )
    rep = Report(
        scenario="cluster-memory",
        title="memory per shard (2 shards, real 2-node Ray cluster) vs one process, Flat",
        data=f"{res['n']:,} synthetic clustered 384-d unit vectors; memory = after - before loading, MiB",
        metrics=[
            Metric("VmRSS", "VmRSS MiB", "lower", "{:,.0f}"),
            Metric("RssAnon", "RssAnon MiB", "lower", "{:,.0f}"),
            Metric("VmHWM", "peak (VmHWM) MiB", "lower", "{:,.0f}"),
            Metric("vectors", "vectors", "higher", "{:,}"),
        ],
        rows=rows,
        goals=[
            Goal(
                f"largest shard over one process at {res['n']:,} vectors",
                "≤ 0.55×",
                f"{worst:,.0f} / {single['VmRSS']:,.0f} MiB = {worst / single['VmRSS']:.2f}×",
                worst <= 0.55 * single["VmRSS"],
            )
        ],
        notes=[
            f"adding {res['n']:,} vectors through the sharded collection took {res['fill_s']:.0f} s"
        ],
        extra=res,
    )
    report(rep, quick=False, started=t0)
    sys.stdout.flush()
    os._exit(0)  # Ray's driver threads can hold up the interpreter's exit for minutes


if __name__ == "__main__":
    main()
