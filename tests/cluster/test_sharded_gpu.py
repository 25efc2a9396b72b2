"""On a machine with a GPU: the cluster reports it, shard actors ask Ray for a share of it and
search with FAISS's GPU clone (today's fallback rules), and answers equal one CPU process's.
Skipped where FAISS sees no GPU (none has been lent to this project yet: docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import pytest
import ray
from clusterkit import DIM, fill, same, vectors
from raykit import RayCluster

import latentsearch as ls

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.gpu,
    pytest.mark.skipif(faiss.get_num_gpus() == 0, reason="needs a GPU"),
]


@pytest.fixture(scope="module", autouse=True)
def _driver() -> Iterator[None]:
    yield
    ray.shutdown()


def test_gpu_shards_answer_as_one_cpu_process(
    ray_cluster: RayCluster, pg_url: str, tmp_path: Path
) -> None:
    db = ls.connect(tmp_path / "c", database=pg_url, cluster=ray_cluster.address)
    assert sum(node.gpus for node in db.cluster_status().nodes) > 0  # Ray saw the GPU
    col = db.create_collection("g", dim=DIM, index="Flat", shards=2, replicas=1)
    fill(col)
    single = ls.connect(tmp_path / "s", database=pg_url, device="cpu")
    try:
        for q in vectors(8, seed=3):
            assert same(col.search(q, k=10), single.collection("g").search(q, k=10))
    finally:
        single.close()
        db.drop_collection("g")
        db.close()
