"""`Collection.rebuild()` on a sharded collection trains one IVF index on a sample, fills every
shard from PostgreSQL and saves the shard files; a replica stopped for good is started again by
the next process that opens the collection, from its shard file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray
from clusterkit import DIM, N, fill, vectors
from raykit import RayCluster

import latentsearch as ls
from latentsearch.core.cluster.connection import NAMESPACE, db_key
from latentsearch.core.cluster.placement import actor_name

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _driver() -> Iterator[None]:
    yield
    ray.shutdown()


def exact_top(k: int, q: np.ndarray) -> list[str]:
    data = vectors()
    data = data / np.linalg.norm(data, axis=1, keepdims=True)
    return [f"i{i}" for i in np.argsort(-(data @ (q / np.linalg.norm(q))))[:k]]


def test_rebuild_and_reopen(ray_cluster: RayCluster, pg_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    db = ls.connect(folder, database=pg_url, cluster=ray_cluster.address, device="cpu")
    col = db.create_collection("ivf", dim=DIM, index="IVF4,Flat", shards=2, replicas=1)
    fill(col)
    col.rebuild()
    info = col.index_info()
    assert info.spec == "IVF4,Flat" and info.vectors == N and info.params.get("nprobe")
    assert info.recall is not None and info.recall >= col.recall_target
    assert sorted(p.name for p in (folder / "shards").glob("*.json")) == [
        f"{col.id}-0.json",
        f"{col.id}-1.json",
    ]
    qs = vectors(20, seed=4)
    found = [[h.id for h in col.search(q, k=10)] for q in qs]
    recall = np.mean(
        [len(set(f) & set(exact_top(10, q))) / 10 for f, q in zip(found, qs, strict=True)]
    )
    assert recall >= 0.9
    # Stop shard 1 for good; a new front process (here a new Database) starts it again, and it
    # loads the trained shard file it saved.
    name = actor_name(db_key(db.store.url, db.path), col.id, 1, 0)
    ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
    db.close()
    again = ls.connect(folder, database=pg_url, cluster=ray_cluster.address, device="cpu")
    col2 = again.collection("ivf")
    assert [[h.id for h in col2.search(q, k=10)] for q in qs] == found
    status = [r for r in again.cluster_status().replicas if r.collection == "ivf"]
    assert all(r.alive for r in status) and sum(r.vectors or 0 for r in status) == N
    again.drop_collection("ivf")
    assert not list((folder / "shards").glob("*.json"))
    with pytest.raises(ValueError):  # its actors are stopped for good
        ray.get_actor(name, namespace=NAMESPACE)
    again.close()
