"""S3's peers in their own process: Chroma and txtai on the workload of `bench.s3_workload`.

    python -m bench.s3_peers chroma|txtai --n 20000 --nq 30

Prints one JSON line (`bench.common.emit`): build seconds, the configuration each peer ran with,
and per case the returned external ids and seconds per query. Both peers get the precomputed
vectors (no model runs) and filter with their own language; permissions are a metadata field
``grp`` filtered with ``$in`` / ``IN``, since neither has ACLs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import numpy as np

from bench.common import emit
from bench.s3_workload import CASES, K, Workload, chroma_where, sql_where, time_queries, workload


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=["chroma", "txtai"])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--nq", type=int, required=True)
    args = ap.parse_args()
    w = workload(args.n, args.nq)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_chroma(w, tmp) if args.peer == "chroma" else run_txtai(w, tmp)
    emit(result)


if __name__ == "__main__":
    main()
