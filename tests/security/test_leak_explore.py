"""Leaks through the latent-space explorer: map, project, clusters, axis and sample.

Every generated case runs one explorer read as a random caller on the world (after 0-3 random
writes) and the same read unrestricted on the caller's visible-only twin: coordinates, cluster
labels, sizes, medoids and members, axis positions and samples, and typed errors with their
messages, must be the same. So nothing hidden shapes what a caller is given, not even a fitted
projection. Each map and projection uses a seed of its own: a fresh fit on both sides (the
cached, incrementally updated map depends on the history of writes, which the twin lacks).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from full import scaled
from hypothesis import given
from hypothesis import strategies as st
from leakkit import (
    DIM,
    PARENTS,
    TAGS,
    World,
    any_callers,
    assert_same_hits,
    assert_same_outcome,
    base_records,
    outcome,
    seeded_vectors,
    vector_twin,
    write_strategy,
)
from leakrun import count, run_cases, world_seed

import latentsearch as ls

BASE = base_records(world_seed() + 1)
IDS = [r["id"] for r in BASE]
REFS = st.sampled_from([*IDS, "new1", "missing", "doc1"])
N = scaled(60, 300)
TOL = 1e-4
SEEDS = itertools.count(1000)  # a fresh projection per case (see the module docstring)


@pytest.fixture(scope="module")
def world(dbs: tuple[ls.Database, ls.Database]) -> Iterator[World]:
    db, twins = dbs
    col = db.create_collection("explore", dim=DIM, index="Flat")
    col.add(BASE)
    yield World(col, twins, {r["id"]: r for r in BASE}, vector_twin)


wheres = st.one_of(
    st.none(),
    st.builds(lambda g: {"g": g}, st.integers(0, 2)),
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda p: {"chunk.parent": f"doc{p}"}, st.integers(0, PARENTS)),
    st.just({"g": {"$bogus": 1}}),
)
points = st.one_of(seeded_vectors, st.builds(lambda r: {"id": r}, REFS))
reads = st.one_of(
    st.fixed_dictionaries(
        {"op": st.just("map"), "where": wheres, "level": st.sampled_from(["chunk", "document"])}
    ),
    st.fixed_dictionaries(
        {"op": st.just("project"), "qs": st.lists(points, min_size=1, max_size=3)}
    ),
    st.fixed_dictionaries(
        {"op": st.just("clusters"), "k": st.one_of(st.none(), st.integers(1, 30)), "where": wheres}
    ),
    st.fixed_dictionaries({"op": st.just("axis"), "neg": points, "pos": points, "where": wheres}),
    st.fixed_dictionaries(
        {
            "op": st.just("sample"),
            "n": st.integers(1, 8),
            "around": st.one_of(st.none(), points),
            "where": wheres,
            "spread": st.sampled_from([0.5, 1.0, 2.0]),
            "seed": st.integers(0, 3),
        }
    ),
)


def call(c: ls.Collection, r: dict[str, Any], p: list[str] | None, seed: int) -> Any:
    op = r["op"]
    if op == "map":
        m = c.map(where=r["where"], principals=p, method="pca", seed=seed, level=r["level"])
        pts = [(q.id, q.title, q.kind, q.metadata, q.cluster, q.parent, q.x, q.y) for q in m.points]
        return pts, m.clusters, (m.method, m.seed, m.fitted_on)
    if op == "project":
        return c.project(r["qs"], method="pca", seed=seed, principals=p)
    if op == "clusters":
        return c.clusters(r["k"], where=r["where"], principals=p)
    if op == "axis":
        return c.axis(r["neg"], r["pos"], where=r["where"], principals=p)
    assert op == "sample"
    draws = c.sample(
        r["n"],
        around=r["around"],
        where=r["where"],
        principals=p,
        spread=r["spread"],
        seed=r["seed"],
    )
    return [d.hit for d in draws], [d.distance for d in draws]


def same(got: Any, want: Any, what: str) -> None:
    """Equal values, floats within `TOL` (coordinates, axis positions, distances, scores)."""
    if isinstance(got, np.ndarray):
        np.testing.assert_allclose(got, want, atol=TOL, err_msg=what)
    elif isinstance(got, ls.Hit):
        assert_same_hits([got], [want], what)
    elif isinstance(got, float):
        assert abs(got - want) <= TOL * max(1.0, abs(want)), f"{what}: {got} != {want}"
    elif isinstance(got, list | tuple):
        assert len(got) == len(want), f"{what}: {len(got)} values, twin gives {len(want)}"
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            same(a, b, f"{what}[{i}]")
    elif isinstance(got, ls.AxisPosition | ls.Cluster):
        same(
            [getattr(got, f.name) for f in fields(got)],
            [getattr(want, f.name) for f in fields(want)],
            what,
        )
    else:
        assert got == want, f"{what}: {got!r} != {want!r}"


def returned_ids(value: Any) -> set[str]:
    """Every id a value names (points, cluster members and medoids, axis positions, hits)."""
    out: set[str] = set()
    if isinstance(value, list | tuple):
        for v in value:
            out |= returned_ids(v)
    elif isinstance(value, ls.Cluster):
        out |= {*value.ids, value.medoid}
    elif isinstance(value, ls.AxisPosition | ls.Hit):
        out.add(value.id)
    return out


def check(world: World, read: dict[str, Any], caller: list[str]) -> None:
    twin = world.twin(caller)
    seed = next(SEEDS)
    got = outcome(lambda: call(world.col, read, caller, seed))
    want = outcome(lambda: call(twin, read, None, seed), {twin.name: world.col.name})
    what = f"{read['op']} as {caller}"
    if got.error is None:
        visible = world.visible_ids(caller)
        if read["op"] == "map":
            pts, found, _ = got.value
            ids = {p[0] for p in pts} | returned_ids(found)
            level_ok = {world.records[i].get("chunk", {}).get("parent", i) for i in visible}
            leaked = ids - (visible | level_ok)
        else:
            leaked = returned_ids(got.value) - visible
        assert not leaked, f"{what} named hidden items {leaked}"
    assert_same_outcome(got, want, what, same)


def test_explorer_reads_equal_the_visible_only_twin(world: World, kind: str) -> None:
    @given(writes=write_strategy(world.ids()), caller=any_callers, read=reads)
    def prop(writes: list, caller: list[str], read: dict[str, Any]) -> None:
        count(kind, writes=writes, caller=caller, read=read)
        with world.writes(writes):
            check(world, read, caller)

    run_cases(kind, N, prop)
