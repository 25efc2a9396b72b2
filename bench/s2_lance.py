"""S2's LanceDB peer: the same rows and queries as `bench.s2_synthetic`, in LanceDB's own index.

Configured as LanceDB's docs advise where an index is built and recall matters: ``IVF_HNSW_SQ``
("best recall/latency trade-off"), its default partitions and graph parameters, cosine (the rows
are unit vectors, so the ranking is the inner product's). Rows are written in the same 50k
blocks as ours; build = the writes + the index. The search parameters are the first rung of
`LADDER` where recall@10 over all queries reaches 0.95 (as the floor's nprobe is chosen). Single
queries ask one vector; batched queries pass the whole matrix in one call (LanceDB answers with
a ``query_index`` column). Hits come back with their ``id`` column, as ours return ids.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

LADDER = [(10, 40), (20, 80), (40, 160), (80, 320), (160, 640)]  # (nprobes, ef)


def child_lance(folder: Path, n: int) -> dict[str, Any]:
    import lancedb
    import pyarrow as pa
    from lancedb.index import IvfHnswSq

    from bench.s2_synthetic import TARGET, K, _result, read_chunks, recall, timed_qps

    queries, gt = np.load(folder / "queries.npy"), np.load(folder / "gt.npy")

    def block(start: int, x: np.ndarray) -> pa.Table:
        vec = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1), pa.float32()), x.shape[1])
        return pa.table(
            {"id": pa.array(np.arange(start, start + len(x)), pa.int64()), "vector": vec}
        )

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t = time.perf_counter()
        db = lancedb.connect(tmp)
        tbl = None
        for start, x in read_chunks(folder, n):
            if tbl is None:
                tbl = db.create_table("s2", block(start, x))
            else:
                tbl.add(block(start, x))
        assert tbl is not None
        tbl.create_index("vector", config=IvfHnswSq(distance_type="cosine"))
        build = time.perf_counter() - t
        params = {"nprobes": 0, "ef": 0}

        def search(q: np.ndarray) -> Any:
            s = tbl.search(q[0] if len(q) == 1 else q).distance_type("cosine").limit(K)
            return (
                s.nprobes(params["nprobes"]).ef(params["ef"]).select(["id", "_distance"]).to_arrow()
            )

        def found() -> np.ndarray:
            res = search(queries).to_pydict()
            out = np.full((len(queries), K), -1, dtype=np.int64)
            fill = [0] * len(queries)
            for qi, i in zip(res["query_index"], res["id"], strict=True):
                if fill[qi] < K:
                    out[qi, fill[qi]] = i
                    fill[qi] += 1
            return out

        rec = math.nan
        for nprobes, ef in LADDER:
            params.update(nprobes=nprobes, ef=ef)
            rec = recall(found(), gt)
            if rec >= TARGET:
                break
        single, batched = timed_qps(search, queries)
        out = _result(build, rec, single, batched, dict(params))
        return {**out, "spec": f"IVF_HNSW_SQ cosine, lancedb {lancedb.__version__}"}
