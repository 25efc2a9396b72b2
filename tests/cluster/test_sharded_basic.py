"""A sharded, replicated collection answers exactly as one process does (Flat index), with
filters and principals; batches are one call per shard; reads see earlier writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from clusterkit import DIM, fill, same, vectors
from raykit import RayCluster

import latentsearch as ls
from latentsearch.errors import InvalidInputError

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", autouse=True)
def _driver() -> Iterator[None]:
    yield
    ray.shutdown()  # the next module's tests (or the fixture test) start their own driver


@pytest.fixture
def pair(
    ray_cluster: RayCluster, pg_url: str, tmp_path: Path
) -> Iterator[tuple[ls.Collection, ls.Collection, ls.Database]]:
    """The same collection, sharded (2 x 2) and served by this process alone."""
    db = ls.connect(tmp_path / "c", database=pg_url, cluster=ray_cluster.address, device="cpu")
    col = db.create_collection("docs", dim=DIM, index="Flat", shards=2, replicas=2)
    fill(col)
    single = ls.connect(tmp_path / "s", database=pg_url, device="cpu")
    yield col, single.collection("docs"), db
    single.close()
    db.drop_collection("docs")
    db.close()


def test_equivalent_to_one_process(pair: tuple[ls.Collection, ls.Collection, ls.Database]) -> None:
    col, single, _ = pair
    assert col.options["shards"] == 2 and col.options["replicas"] == 2
    qs = vectors(12, seed=7)
    for q in qs:
        a = col.search(q, k=10)
        assert isinstance(a, ls.SearchHits) and a.missing_shards == ()
        assert len(a) == 10 and same(a, single.search(q, k=10))
        where = {"group": {"$in": [1, 2]}}
        assert same(col.search(q, k=10, where=where), single.search(q, k=10, where=where))
        who = ["team:b"]
        assert same(col.search(q, k=7, principals=who), single.search(q, k=7, principals=who))
    batch, one = col.search_vectors(qs, 5), single.search_vectors(qs, 5)
    assert all(same(a, b) for a, b in zip(batch, one, strict=True))


def test_read_your_writes(pair: tuple[ls.Collection, ls.Collection, ls.Database]) -> None:
    col, single, _ = pair
    v = vectors(3, seed=99)
    col.add(vectors=v, ids=["new0", "new1", "new2"])
    assert [h.id for h in col.search(v[1], k=1)] == ["new1"]
    col.delete(["new1"])
    assert "new1" not in [h.id for h in col.search(v[1], k=5)]
    # A write through the other front (no cluster) is seen by the next sharded read.
    single.add(vectors=v[1:2] * 2, ids=["other"])
    assert col.search(v[1], k=1)[0].id == "other"
    assert col.verify()


def test_cluster_needs_postgres(ray_cluster: RayCluster, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="postgresql"):
        ls.connect(tmp_path / "x", cluster=ray_cluster.address)
