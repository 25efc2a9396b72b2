"""Per-core rates a 1-billion-vector plan needs (issue 13, ``docs/scale.md``), measured here.

Each part runs in its own child process pinned to one core (``taskset -c 0``, FAISS at one
OpenMP thread), so every figure is a per-core rate:

* **encode**: documents/s of the bundled all-MiniLM-L6-v2, short (~12 words) and ~200-word
  documents (Cranfield words), with the default backend (``auto``) and with torch;
* **faiss**: on ``--n`` synthetic clustered 384-d unit vectors (`bench.data.gaussian_mixture`,
  1,000 clusters; *synthetic*: recall on real embeddings differs): k-means time per
  (n, nlist), coarse assignment rate, encode (add) rate and memory per vector, single-query
  latency, batched QPS and recall@10 against exact search for IVF-Flat, IVF-PQ48/PQ96 and
  IVF-RaBitQ, each with and without an SQ8 refinement of the shortlist;
* **pg**: rows/s of `Collection.add` on PostgreSQL (fresh schema, dropped after), with a
  precomputed vector and a ~200-word text (in the metadata) per row, and the bytes each row takes on disk
  (``pg_total_relation_size`` of every table in the schema / rows).

    PYTHONPATH=. python -m bench.scale_rates [--quick] [--only encode,faiss,pg]

Prints one table and writes ``bench/results/scale-rates[-quick].json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import CRANFIELD, Metric, Report, Row, emit, report, run_child

DIM, K, NQ = 384, 10, 500
PG = os.environ.get("LATENTSEARCH_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
# (n, nlist) pairs for k-means: the cost grows as n * nlist * d * iterations.
KMEANS = [(32_768, 256), (65_536, 1024)]
KMEANS_QUICK = [(16_384, 256), (32_768, 512)]
# Index variants: factory string after the coarse quantizer, and the search settings tried.
VARIANTS: list[tuple[str, str, list[dict[str, int]]]] = [
    ("IVF-Flat", "Flat", [{"nprobe": 16}, {"nprobe": 64}]),
    ("IVF-PQ48", "PQ48np", [{"nprobe": 16}, {"nprobe": 64}]),
    (
        "IVF-PQ48 + SQ8 refine",
        "PQ48np,Refine(SQ8)",
        [{"nprobe": 16, "kf": 4}, {"nprobe": 64, "kf": 8}],
    ),
    (
        "IVF-PQ96 + SQ8 refine",
        "PQ96np,Refine(SQ8)",
        [{"nprobe": 16, "kf": 4}, {"nprobe": 64, "kf": 4}],
    ),
    ("IVF-RaBitQ (1 bit)", "RaBitQ", [{"nprobe": 16, "qb": 8}, {"nprobe": 64, "qb": 8}]),
    (
        "IVF-RaBitQ + SQ8 refine",
        "RaBitQ,Refine(SQ8)",
        [{"nprobe": 16, "qb": 8, "kf": 4}, {"nprobe": 64, "qb": 8, "kf": 10}],
    ),
]


# -- encoding ---------------------------------------------------------------------------------
def _words() -> list[str]:
    return (CRANFIELD / "cran.all.1400").read_text().split()


def child_encode(quick: bool) -> dict[str, Any]:
    from latentsearch.encoders import get_encoder

    words = [w for w in _words() if w.isalpha()]
    n_short, n_long = (64, 16) if quick else (512, 96)
    short = [" ".join(words[i * 12 : i * 12 + 12]) for i in range(n_short)]
    long = [" ".join(words[i * 200 : i * 200 + 200]) for i in range(n_long)]
    out: dict[str, Any] = {}
    for backend in ("auto", "torch"):
        enc = get_encoder("text", device="cpu", backend=backend, batch_size=32)
        enc.encode_texts(short[:32])  # load and warm up
        for name, docs in (("short", short), ("long", long)):
            t = time.process_time()
            enc.encode_texts(docs)
            out[f"{backend}_{name}"] = len(docs) / (time.process_time() - t)
        out[f"{backend}_name"] = getattr(enc, "backend", backend)
    return out


# -- FAISS ------------------------------------------------------------------------------------
def _recall(found: Any, truth: Any) -> float:
    return sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True)) / truth.size


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _search(index: Any, q: Any, truth: Any, params: dict[str, int]) -> dict[str, Any]:
    import faiss

    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = params["nprobe"]
    if "qb" in params:
        faiss.downcast_index(ivf).qb = params["qb"]
    if "kf" in params:
        faiss.downcast_index(index).k_factor = params["kf"]
    index.search(q[:20], K)
    t = time.process_time()
    _, found = index.search(q, K)
    batch_s = time.process_time() - t
    lat = []
    for i in range(100):
        t = time.process_time()
        index.search(q[i : i + 1], K)
        lat.append(time.process_time() - t)
    return {
        **params,
        "recall10": _recall(found, truth),
        "qps": len(q) / batch_s,
        "p50_ms": 1000 * statistics.median(lat),
    }


def child_faiss(n: int, quick: bool) -> dict[str, Any]:
    import faiss
    import numpy as np

    from bench.data import gaussian_mixture

    faiss.omp_set_num_threads(1)
    t = time.process_time()
    data = gaussian_mixture(n + NQ, DIM, clusters=1000, seed=13)
    xb, q = data[:n], data[n:]
    out: dict[str, Any] = {"n": n, "gen_s": time.process_time() - t}
    # Exact search: the ground truth, and the per-core rate of a brute-force scan.
    flat = faiss.IndexFlatIP(DIM)
    flat.add(xb)
    t = time.process_time()
    _, truth = flat.search(q, K)
    out["flat_qps"] = NQ / (time.process_time() - t)
    out["flat_vectors_per_s"] = out["flat_qps"] * n
    del flat
    # k-means: seconds per (n, nlist) at 10 iterations; the last nlist=1024 run is reused.
    out["kmeans"] = []
    rng = np.random.default_rng(0)
    centroids = None
    for kn, nlist in KMEANS_QUICK if quick else KMEANS:
        sample = xb[rng.choice(n, size=min(kn, n), replace=False)]
        km = faiss.Kmeans(
            DIM, nlist, niter=10, spherical=True, seed=1, max_points_per_centroid=1 << 20
        )
        t = time.process_time()
        km.train(sample)
        s = time.process_time() - t
        out["kmeans"].append(
            {
                "n": kn,
                "nlist": nlist,
                "s": s,
                "ns_per_n_nlist_d_iter": 1e9 * s / (kn * nlist * DIM * 10),
            }
        )
        centroids = km.centroids
    nlist = len(centroids)
    quantizer = faiss.IndexFlatIP(DIM)
    quantizer.add(centroids)
    t = time.process_time()
    _, assign = quantizer.search(xb, 1)
    out["assign_s_per_m"] = (time.process_time() - t) * 1e6 / n
    out["nlist"] = nlist
    train = xb[rng.choice(n, size=min(16_384, n), replace=False)]
    out["variants"] = []
    for label, spec, settings in VARIANTS:
        base_rss = _rss_mib()
        index = faiss.index_factory(DIM, f"IVF{nlist},{spec}", faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        ivf.quantizer.add(centroids)  # the shared coarse quantizer: only the codes train here
        t = time.process_time()
        index.train(train)
        train_s = time.process_time() - t
        t = time.process_time()
        # The coarse assignment is computed once above (timed as assign_s_per_m); this times
        # the encoding of every vector into its list (and into the refinement codes).
        ivf.add_core(n, faiss.swig_ptr(xb), None, faiss.swig_ptr(assign.ravel()))
        ivf.ntotal = n
        refine = isinstance(faiss.downcast_index(index), faiss.IndexRefine)
        if refine:
            r = faiss.downcast_index(index)
            r.refine_index.add(xb)
            r.ntotal = n
        add_s = time.process_time() - t
        code = (
            ivf.code_size
            + 8
            + (faiss.downcast_index(index).refine_index.sa_code_size() if refine else 0)
        )
        row = {
            "label": label,
            "factory": f"IVF{nlist},{spec}",
            "train_s": train_s,
            "encode_s_per_m": add_s * 1e6 / n,
            "add_per_s": n / (add_s + out["assign_s_per_m"] * n / 1e6),
            "bytes_per_vector": code + nlist * DIM * 4 / n,
            "rss_bytes_per_vector": (_rss_mib() - base_rss) * 2**20 / n,
            "search": [_search(index, q, truth, p) for p in settings],
        }
        out["variants"].append(row)
        del index, ivf
    return out


# -- PostgreSQL -------------------------------------------------------------------------------
def _sizes(admin: Any, schema: str) -> dict[str, int]:
    """Bytes on disk of each table of the schema, indexes and TOAST included."""
    from sqlalchemy import text

    with admin.connect() as c:
        rows = c.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace s ON s.oid = c.relnamespace "
                "WHERE s.nspname = :s AND c.relkind = 'r'"
            ),
            {"s": schema},
        ).all()
    return {name: int(b) for name, b in rows}


def _server_cpu(admin: Any, app: str, before: dict[int, float] | None = None) -> Any:
    """CPU seconds of this bench's PostgreSQL backends (found by application_name): a dict
    pid -> seconds, or with ``before`` the seconds spent since (the server is on this machine)."""
    from sqlalchemy import text

    with admin.connect() as c:
        pids = (
            c.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": app}
            )
            .scalars()
            .all()
        )
    tick = os.sysconf("SC_CLK_TCK")
    now = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            now[pid] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    if before is None:
        return now
    # A backend that ended before the second reading is lost: the pool keeps them open.
    return sum(v - before.get(pid, 0.0) for pid, v in now.items())


def child_pg(quick: bool) -> dict[str, Any]:
    import tempfile
    import uuid

    import numpy as np
    from sqlalchemy import create_engine, text

    import latentsearch as ls
    from bench.data import gaussian_mixture

    n, batch = (2_000, 500) if quick else (20_000, 1_000)
    words = [w for w in _words() if w.isalpha()]
    texts = [" ".join(words[(i * 200) % (len(words) - 200) :][:200]) for i in range(n)]
    vecs = gaussian_mixture(n, DIM, clusters=100, seed=5)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    tmp = tempfile.mkdtemp(prefix="scale-pg-")
    sep = "&" if "?" in PG else "?"
    try:
        url = f"{PG}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
        db = ls.connect(tmp, database=url, device="cpu")
        # A raw-vector collection cannot store a text beside its vector, so the ~200-word text
        # rides in the metadata (JSON): the same bytes per row as a text column, give or take.
        col = db.create_collection("rows", dim=DIM, index="Flat")
        empty = _sizes(admin, schema)
        t, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(admin, schema)
        for s in range(0, n, batch):
            col.add(
                vectors=vecs[s : s + batch],
                ids=[f"doc-{i}" for i in range(s, s + batch)],
                metadata=[{"body": texts[i], "n": i} for i in range(s, s + batch)],
            )
        wall, client_cpu = time.perf_counter() - t, time.process_time() - cpu
        server_cpu = _server_cpu(admin, schema, server)
        db.close()
        sizes = _sizes(admin, schema)
        total = sum(sizes.values()) - sum(empty.values())
        return {
            "rows": n,
            "batch": batch,
            "rows_per_s": n / wall,
            "client_cpu_per_row_ms": 1000 * client_cpu / n,
            "server_cpu_per_row_ms": 1000 * server_cpu / n,
            "rows_per_cpu_s": n / (client_cpu + server_cpu),
            "bytes_per_row": total / n,
            "tables_bytes_per_row": {
                k: (b - empty.get(k, 0)) / n for k, b in sizes.items() if b > empty.get(k, 0)
            },
            "text_bytes": float(np.mean([len(x) for x in texts])),
        }
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        shutil.rmtree(tmp, ignore_errors=True)


# -- the report -------------------------------------------------------------------------------
def _pinned(part: str, extra: list[str]) -> dict[str, Any]:
    argv = ["-m", "bench.scale_rates", "--child", part, *extra]
    if shutil.which("taskset"):
        return run_child(["-c", "0", sys.executable, *argv], python="taskset")
    return run_child(argv, python=sys.executable)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--n", type=int, default=None, help="vectors for the FAISS part (1M; 100k quick)"
    )
    ap.add_argument("--only", default="encode,faiss,pg")
    ap.add_argument("--child", choices=["encode", "faiss", "pg"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    if args.child == "encode":
        return emit(child_encode(args.quick))
    if args.child == "faiss":
        return emit(child_faiss(n, args.quick))
    if args.child == "pg":
        return emit(child_pg(args.quick))
    t0 = time.perf_counter()
    extra = (["--quick"] if args.quick else []) + ["--n", str(n)]
    parts = args.only.split(",")
    res = {p: _pinned(p, extra) for p in ("encode", "faiss", "pg") if p in parts}
    rows: list[Row] = []
    if "encode" in res:
        e = res["encode"]
        for b in ("auto", "torch"):
            rows.append(
                Row(
                    f"encode all-MiniLM-L6-v2 ({e[f'{b}_name']})",
                    "ours",
                    {"short": e[f"{b}_short"], "long": e[f"{b}_long"]},
                    group="encode",
                )
            )
    if "faiss" in res:
        f = res["faiss"]
        rows.append(
            Row(
                f"exact Flat scan, {f['n']:,} vectors",
                "ours",
                {"qps": f["flat_qps"], "recall": 1.0, "bpv": DIM * 4},
                group="faiss",
            )
        )
        for v in f["variants"]:
            for s in v["search"]:
                knobs = ", ".join(f"{k}={s[k]}" for k in ("nprobe", "qb", "kf") if k in s)
                rows.append(
                    Row(
                        f"{v['label']} ({knobs})",
                        "ours",
                        {
                            "qps": s["qps"],
                            "p50": s["p50_ms"],
                            "recall": s["recall10"],
                            "bpv": v["bytes_per_vector"],
                            "add": v["add_per_s"],
                        },
                        group="faiss",
                    )
                )
    if "pg" in res:
        p = res["pg"]
        rows.append(
            Row(
                f"PostgreSQL Collection.add, batches of {p['batch']}",
                "ours",
                {"add": p["rows_per_s"], "bpv": p["bytes_per_row"]},
                group="pg",
            )
        )
    notes = []
    if "faiss" in res:
        f = res["faiss"]
        for km in f["kmeans"]:
            notes.append(
                f"k-means n={km['n']:,} nlist={km['nlist']} 10 iterations: {km['s']:.1f} s ({km['ns_per_n_nlist_d_iter']:.3f} ns per n·nlist·d·iter)"
            )
        notes.append(
            f"coarse assignment to {f['nlist']} lists: {f['assign_s_per_m']:.1f} s per million vectors"
        )
        notes.append(
            "FAISS data: synthetic clustered unit vectors (bench.data.gaussian_mixture, 1,000 clusters); recall on real embeddings differs"
        )
    rep = Report(
        scenario="scale-rates",
        title="per-core rates for the 1-billion-vector plan (one core, one thread)",
        data=f"{DIM}-d; FAISS on {n:,} vectors, {NQ} queries, k={K}",
        metrics=[
            Metric("short", "short docs/s", "higher", "{:,.0f}"),
            Metric("long", "200-word docs/s", "higher", "{:,.1f}"),
            Metric("add", "adds/s", "higher", "{:,.0f}"),
            Metric("bpv", "bytes/vector", "lower", "{:,.0f}"),
            Metric("qps", "batched q/s", "higher", "{:,.0f}"),
            Metric("p50", "1 query p50 ms", "lower", "{:.2f}"),
            Metric("recall", "recall@10", "higher", "{:.3f}"),
        ],
        rows=rows,
        notes=notes,
        extra=res,
    )
    report(rep, quick=args.quick, started=t0)


if __name__ == "__main__":
    main()
