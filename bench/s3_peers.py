"""S3's peers in their own process: Chroma, txtai and LanceDB on the workload of `bench.s3_workload`.

    python -m bench.s3_peers chroma|txtai|lancedb|lancedb-flat --n 20000 --nq 30

Prints one JSON line (`bench.common.emit`): build seconds, the configuration each peer ran with,
and per case the returned external ids and seconds per query. Both peers get the precomputed
vectors (no model runs) and filter with their own language; permissions are a metadata field
``grp`` filtered with ``$in`` / ``IN``, since none has ACLs.

LanceDB is configured as its docs advise for filtered vector search: an ``IVF_PQ`` index (its
docs: "if your vector search frequently includes metadata filters, use IVF_RQ or IVF_PQ"; HNSW
sub-indexes show more latency variance under filters), default partitions (√n) and sub-vectors
(dim/16), cosine; scalar indexes on the filter columns (BTREE on ``b``, BITMAP on ``color`` and
``grp``); ``where(..., prefilter=True)``. ``nprobes`` and ``refine_factor`` are the smallest of a
short ladder reaching unfiltered recall@10 ≥ 0.95 on the first 20 queries (as ours tunes itself).
``lancedb-flat`` is the same table without a vector index: exact prefiltered kNN, which its docs
advise below ~100k rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import numpy as np

from bench.common import emit
from bench.s3_workload import (
    CASES,
    COLORS,
    K,
    Workload,
    chroma_where,
    sql_where,
    time_queries,
    truth,
    workload,
)

# (nprobes, refine_factor), tried in order until unfiltered recall@10 >= 0.95
LANCE_LADDER = [(20, 5), (20, 10), (40, 10), (40, 20), (80, 20), (160, 40)]


def run_chroma(w: Workload, tmp: str) -> dict[str, Any]:
    import chromadb

    client = chromadb.PersistentClient(path=tmp)
    col = client.create_collection("s3-filtered", metadata={"hnsw:space": "cosine"})
    t = time.perf_counter()
    step = min(5000, client.get_max_batch_size())
    for s in range(0, w.n, step):
        rows = range(s, min(s + step, w.n))
        col.add(
            ids=[f"i{i}" for i in rows],
            embeddings=w.x[s : s + step],
            metadatas=[{**w.metadata(i), "grp": w.grp[i]} for i in rows],
        )
    build = time.perf_counter() - t

    def ask(case: str, j: int) -> list[str]:
        res = col.query(
            query_embeddings=w.q[j : j + 1], n_results=K, where=chroma_where(case, j), include=[]
        )
        return list(res["ids"][0])

    out = time_queries(w, CASES, ask)
    return {**out, "build_s": build, "config": "PersistentClient, hnsw cosine, defaults"}


def run_txtai(w: Workload, tmp: str) -> dict[str, Any]:
    from txtai import Embeddings

    def lookup(texts: list[str]) -> np.ndarray:
        """External vectors: "i<row>" is an item, "q<row>" a query (no model involved)."""
        src = {"i": w.x, "q": w.q}
        return np.stack([src[t[0]][int(t[1:])] for t in texts])

    emb = Embeddings(method="external", transform=lookup, content=True, backend="faiss")
    t = time.perf_counter()
    emb.index(
        (f"i{i}", {"text": f"i{i}", **w.metadata(i), "grp": w.grp[i]}, None) for i in range(w.n)
    )
    build = time.perf_counter() - t

    def ask(case: str, j: int) -> list[str]:
        cond = sql_where(case, j)
        sql = "SELECT id, score FROM txtai WHERE similar(:q)" + (f" AND {cond}" if cond else "")
        return [r["id"] for r in emb.search(sql, limit=K, parameters={"q": f"q{j}"})]

    out = time_queries(w, CASES, ask)
    faiss_cfg = (emb.config or {}).get("faiss", "defaults")
    return {**out, "build_s": build, "config": f"content=True, faiss backend ({faiss_cfg})"}


def run_lancedb(w: Workload, tmp: str, indexed: bool = True) -> dict[str, Any]:
    import lancedb
    import pyarrow as pa
    from lancedb.index import Bitmap, BTree, IvfPq

    db = lancedb.connect(tmp)
    t = time.perf_counter()
    data = pa.table(
        {
            "id": [f"i{i}" for i in range(w.n)],
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(w.x.reshape(-1), type=pa.float32()), w.x.shape[1]
            ),
            "b": pa.array(w.b, type=pa.int64()),
            "color": [COLORS[c] for c in w.color],
            "grp": w.grp,
        }
    )
    tbl = db.create_table("s3", data)
    if indexed:
        tbl.create_index("vector", config=IvfPq(distance_type="cosine"))
    tbl.create_index("b", config=BTree())
    tbl.create_index("color", config=Bitmap())
    tbl.create_index("grp", config=Bitmap())
    build = time.perf_counter() - t
    params: dict[str, int] = {}

    def ask(case: str, j: int) -> list[str]:
        q = tbl.search(w.q[j]).distance_type("cosine").limit(K).select(["id", "_distance"])
        if params:
            q = q.nprobes(params["nprobes"]).refine_factor(params["refine_factor"])
        cond = sql_where(case, j)
        if cond:
            q = q.where(cond, prefilter=True)
        return [r["id"] for r in q.to_list()]

    if indexed:
        want = truth(w, "none")[:20]
        for nprobes, refine in LANCE_LADDER:
            params.update(nprobes=nprobes, refine_factor=refine)
            got = [set(ask("none", j)) for j in range(len(want))]
            rec = np.mean(
                [len(g & {f"i{r}" for r in t}) / K for g, t in zip(got, want, strict=True)]
            )
            if rec >= 0.95:
                break
    out = time_queries(w, CASES, ask)
    cfg = (
        f"IVF_PQ cosine (√n partitions, dim/16 sub-vectors), nprobes={params['nprobes']}, "
        f"refine_factor={params['refine_factor']}"
        if indexed
        else "no vector index (exact kNN)"
    )
    return {
        **out,
        "build_s": build,
        "config": f"{cfg}; BTREE b, BITMAP color/grp; prefilter=True; lancedb {lancedb.__version__}",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=["chroma", "txtai", "lancedb", "lancedb-flat"])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--nq", type=int, required=True)
    args = ap.parse_args()
    w = workload(args.n, args.nq)
    with tempfile.TemporaryDirectory() as tmp:
        if args.peer.startswith("lancedb"):
            result = run_lancedb(w, tmp, indexed=args.peer == "lancedb")
        else:
            result = run_chroma(w, tmp) if args.peer == "chroma" else run_txtai(w, tmp)
    emit(result)


if __name__ == "__main__":
    main()
