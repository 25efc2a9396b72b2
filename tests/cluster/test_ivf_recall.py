"""An IVF index shared across shards recalls as well as the same index in one process.

The sharded collection trains its coarse quantizer once (on a sample read from PostgreSQL) and
every shard fills its part from that one trained index; each shard then probes the same
``nprobe`` lists of its own vectors, so the merged answer searches the same lists as a single
index would. recall@10 against the exact neighbours (numpy, all 225 Cranfield queries) must be
within 0.01 of a single-process collection with the same index and parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from cranfieldkit import DIM, add_all, cranfield, dropping
from pgkit import pg_schema
from raykit import RayCluster

import latentsearch as ls

K = 10
SPEC = "IVF16,Flat"  # 1,398 vectors: 16 lists of ~87 (FAISS wants 39 training points per list)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row positions of the exact cosine top-k of each query."""
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    return np.argsort(-(q @ v.T), axis=1)[:, :k]


def recall(col: ls.Collection, truth: list[set[str]], queries: np.ndarray) -> float:
    got = col.search_batch(queries, K)
    return float(np.mean([len({h.id for h in g} & t) / K for g, t in zip(got, truth, strict=True)]))


def test_sharded_ivf_recall_equals_the_single_process_recall(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> None:
    data = cranfield()
    ids = [r["id"] for r in data.records]
    truth = [{ids[j] for j in row} for row in exact_top(data.vectors, data.queries, K)]
    folder = tmp_path_factory.mktemp("ivf")
    with (
        pg_schema(pg_admin) as url_c,
        pg_schema(pg_admin) as url_s,
        ls.connect(folder / "c", database=url_c, cluster=ray_cluster.address) as dbc,
        ls.connect(folder / "s", database=url_s) as dbs,
        dropping(dbc, "cran"),
    ):
        single = dbs.create_collection("cran", dim=DIM, index=SPEC)
        add_all(single, data.records)
        single.rebuild()
        sharded = dbc.create_collection("cran", dim=DIM, index=SPEC, shards=2, replicas=2)
        add_all(sharded, data.records)
        sharded.rebuild()  # train once, fill both shards from PostgreSQL
        info_s, info_c = single.index_info(), sharded.index_info()
        assert info_s.spec == info_c.spec == SPEC
        assert info_c.params == info_s.params, "the same nprobe in both"
        assert 1 <= info_s.params["nprobe"] < 16  # an approximate search, not a full scan
        r_single = recall(single, truth, data.queries)
        r_sharded = recall(sharded, truth, data.queries)
    print(f"recall@10 {SPEC} nprobe={info_s.params['nprobe']}: single {r_single:.4f}, "
          f"2 shards {r_sharded:.4f}")  # fmt: skip
    assert r_single < 0.999  # the index is approximate: the comparison means something
    assert abs(r_sharded - r_single) <= 0.01
