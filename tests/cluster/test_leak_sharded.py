"""The leak property test of dense reads (tests/security/test_leak_dense.py), on a sharded world.

The world is a collection of 2 shards x 2 replicas on the two-node Ray cluster; its twins stay
single-process collections in another PostgreSQL schema. The same generated reads (search,
batches, MMR, per-document, expressions, analogy, recommend, interpolate, centroid, direction,
embed_query) as random callers, after 0-3 random writes (which go to the owning shards'
replicas), must give what an unrestricted caller gets from the caller's visible-only twin:
results, exact scores and typed errors. The scatter-gather path (allowed set split by shard,
merge) and the shards' write path must leak nothing a caller may not see.

Fewer cases than the in-process test (each read here is a round trip to two shard actors).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from full import scaled
from hypothesis import given
from hypothesis import strategies as st
from pgkit import pg_schema
from raykit import RayCluster

import latentsearch as ls

SECURITY = Path(__file__).resolve().parents[1] / "security"
sys.path.insert(0, str(SECURITY))  # leakkit and leakrun, beside the test this one reuses

from cranfieldkit import dropping  # noqa: E402
from leakkit import DIM, World, any_callers, vector_twin, write_strategy  # noqa: E402
from leakrun import count, run_cases  # noqa: E402

N = scaled(150, 1500)
KIND = "postgres-sharded"


def _dense_reads() -> ModuleType:
    """The dense leak test's strategies and oracle, loaded under a name pytest never collects."""
    spec = importlib.util.spec_from_file_location(
        "leak_dense_reads", SECURITY / "test_leak_dense.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


dense = _dense_reads()


@pytest.fixture(scope="module")
def world(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("leaks")
    with (
        pg_schema(pg_admin) as url_w,
        pg_schema(pg_admin) as url_t,
        ls.connect(folder / "world", database=url_w, cluster=ray_cluster.address) as db,
        ls.connect(folder / "twins", database=url_t) as twins,
        dropping(db, "world"),
    ):
        col = db.create_collection("world", dim=DIM, index="Flat", shards=2, replicas=2)
        col.add(dense.BASE)
        yield World(col, twins, {r["id"]: r for r in dense.BASE}, vector_twin)


def test_sharded_dense_reads_equal_the_visible_only_twin(world: World) -> None:
    @given(
        writes=write_strategy(world.ids()),
        caller=any_callers,
        read=st.one_of(dense.reads, dense.reads, dense.vector_reads),
        exact_max=st.sampled_from([0, 10**6]),
    )
    def prop(writes: list, caller: list[str], read: dict[str, Any], exact_max: int) -> None:
        count(KIND, writes=writes, caller=caller, read=read, exact_max=exact_max)
        with world.writes(writes):
            dense.check(world, read, caller, exact_max)

    run_cases(KIND, N, prop)
