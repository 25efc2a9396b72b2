"""Faults on a 2-shard x 2-replica collection: a replica's process killed during a query loop,
every replica of a shard killed for good (typed error, or a marked partial answer), `heal`
catching up with the writes made meanwhile, and a lost node. The tests run in file order on
one collection (starting replicas is the slow part)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pytest
import ray
from clusterkit import DIM, N, fill, same, vectors
from raykit import RayCluster

import latentsearch as ls
from latentsearch.core.cluster.connection import NAMESPACE, db_key
from latentsearch.core.cluster.placement import actor_name
from latentsearch.errors import ShardUnavailableError

pytestmark = pytest.mark.postgres
K = 10


@pytest.fixture(scope="module")
def setup(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory, pg_admin: object
) -> Iterator[tuple[ls.Database, ls.Collection, ls.Collection]]:
    from pgkit import pg_schema

    root = tmp_path_factory.mktemp("faults")
    with pg_schema(pg_admin) as url:  # type: ignore[arg-type]
        db = ls.connect(root / "c", database=url, cluster=ray_cluster.address, device="cpu")
        col = db.create_collection("docs", dim=DIM, index="Flat", shards=2, replicas=2)
        fill(col)
        single = ls.connect(root / "s", database=url, device="cpu")
        yield db, col, single.collection("docs")
        single.close()
        db.drop_collection("docs")
        db.close()
        ray.shutdown()


def actor(db: ls.Database, col: ls.Collection, shard: int, replica: int) -> object:
    name = actor_name(db_key(db.store.url, db.path), col.id, shard, replica)
    return ray.get_actor(name, namespace=NAMESPACE)


def test_status_and_placement(setup: tuple[ls.Database, ls.Collection, ls.Collection]) -> None:
    db, col, _ = setup
    status = db.cluster_status()
    assert sum(n.alive for n in status.nodes) == 2
    mine = [r for r in status.replicas if r.collection == "docs"]
    assert len(mine) == 4 and all(r.alive and r.pid for r in mine)
    for shard in (0, 1):
        reps = [r for r in mine if r.shard == shard]
        assert len({r.node for r in reps}) == 2, "replicas of a shard share a node"
        assert len({r.vectors for r in reps}) == 1
    assert sum(r.vectors or 0 for r in mine if r.replica == 0) == N
    assert {r.seq for r in mine} == {col.sync()}


def test_batch_is_one_call_per_shard(
    setup: tuple[ls.Database, ls.Collection, ls.Collection],
) -> None:
    db, col, single = setup

    def calls() -> list[int]:
        return [
            sum(ray.get(actor(db, col, s, r).status.remote())["searches"] for r in (0, 1))
            for s in (0, 1)
        ]

    before = calls()
    qs = vectors(16, seed=3)
    got = col.search_vectors(qs, K)
    assert [a - b for a, b in zip(calls(), before, strict=True)] == [1, 1]
    assert all(same(a, b) for a, b in zip(got, single.search_vectors(qs, K), strict=True))


def test_killed_replica_process_loses_no_query(
    setup: tuple[ls.Database, ls.Collection, ls.Collection],
) -> None:
    db, col, single = setup
    qs = vectors(30, seed=5)
    want = [single.search(q, k=K) for q in qs]
    victim = next(r for r in db.cluster_status().replicas if (r.shard, r.replica) == (0, 0))
    assert victim.pid is not None
    for i, (q, w) in enumerate(zip(qs, want, strict=True)):
        if i == 5:
            os.kill(victim.pid, signal.SIGKILL)
        assert same(col.search(q, k=K), w)
    # Ray restarts it: it reloads its shard file and answers again, with a new process.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        back = next(r for r in db.cluster_status().replicas if (r.shard, r.replica) == (0, 0))
        if back.alive and back.pid != victim.pid:
            break
        time.sleep(1)
    assert back.alive and back.pid != victim.pid and back.vectors == victim.vectors


def test_shard_down_then_healed(setup: tuple[ls.Database, ls.Collection, ls.Collection]) -> None:
    db, col, single = setup
    q = vectors(1, seed=11)[0]
    full = [h.id for h in col.search(q, k=N)]
    for replica in (0, 1):
        ray.kill(actor(db, col, 1, replica), no_restart=True)
    with pytest.raises(ShardUnavailableError, match="shard"):
        col.search(q, k=K)
    part = col.search(q, k=K, allow_partial=True)
    assert part.missing_shards == (1,) and part.partial and len(part) == K
    ranks = [full.index(h.id) for h in part]
    assert ranks == sorted(ranks), "a partial answer is the other shards' exact ranking"
    # Writes made while shard 1 is down are durable in PostgreSQL ...
    fresh = vectors(6, seed=12)
    col.add(vectors=fresh, ids=[f"late{i}" for i in range(6)])
    col.delete(["i1", "i3"])
    # ... and a healed shard replays them before it answers.
    assert col.heal() == 2
    for v in fresh:
        assert same(col.search(v, k=K), single.search(v, k=K))
        assert col.search(v, k=1)[0].id.startswith("late")
    assert col.verify()
    assert not {"i1", "i3"} & {h.id for h in col.search(q, k=N)}


def test_lost_node(
    ray_cluster: RayCluster, setup: tuple[ls.Database, ls.Collection, ls.Collection]
) -> None:
    _, col, single = setup
    qs = vectors(8, seed=21)
    want = [single.search(q, k=K) for q in qs]
    ray_cluster.stop_worker()
    try:
        for q, w in zip(qs, want, strict=True):
            assert same(col.search(q, k=K), w)  # from the head node's replicas
        col.add(vectors=np.ones((1, DIM), np.float32), ids=["while-lost"])
        assert col.search(np.ones(DIM, np.float32), k=1)[0].id == "while-lost"
    finally:
        ray_cluster.start_worker()
    assert col.verify()
