"""Leaks through dense reads, in process: search, batches, MMR, per-document, query expressions,
analogy, recommend, interpolate, centroid, direction and embed_query.

Every generated case runs one read as a random caller on the world (after 0-3 random writes) and
the same read unrestricted on the caller's visible-only twin: results, scores (exact Flat index)
and typed errors with their messages must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    assert_close,
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

BASE = base_records(world_seed())
IDS = [r["id"] for r in BASE]
REFS = st.sampled_from([*IDS, "new1", "missing", "doc1"])  # visible, hidden, new and absent ids
N = scaled(600, 3000)


@pytest.fixture(scope="module")
def world(dbs: tuple[ls.Database, ls.Database]) -> Iterator[World]:
    db, twins = dbs
    col = db.create_collection("world", dim=DIM, index="Flat")
    col.add(BASE)
    yield World(col, twins, {r["id"]: r for r in BASE}, vector_twin)


wheres = st.one_of(
    st.none(),
    st.builds(lambda g: {"g": g}, st.integers(0, 2)),
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda ids: {"id": {"$in": ids}}, st.lists(REFS, min_size=1, max_size=4)),
    st.builds(lambda p: {"chunk.parent": f"doc{p}"}, st.integers(0, PARENTS)),
    st.builds(
        lambda g, t: {"$or": [{"g": {"$gte": g}}, {"tag": t}]},
        st.integers(0, 2),
        st.sampled_from(TAGS),
    ),
    st.just({"g": {"$bogus": 1}}),  # a bad filter: the same FilterError for everyone
)
ks = st.integers(1, 30)
item_refs = st.builds(lambda r: {"id": r}, REFS)
queries = st.one_of(seeded_vectors, item_refs)
terms = st.one_of(
    st.builds(lambda r: f"@{r}", REFS),
    REFS,  # a bare word: the item when visible, else text (which a vector collection refuses)
    st.builds(lambda w, r: f"{w} * @{r}", st.sampled_from(["0.5", "2"]), REFS),
)
signs = st.lists(st.sampled_from("+-"), min_size=3, max_size=3)
# A read is plain data (so a falsifying example prints readably); `call` performs it.
reads = st.one_of(
    st.fixed_dictionaries(
        {
            "op": st.just("search"),
            "q": queries,
            "k": ks,
            "where": wheres,
            "mmr": st.none(),
            "per_document": st.booleans(),
        }
    ),
    # MMR from a random vector only: from an item's own vector at lambda 0.5 every candidate's
    # MMR score is 0 (relevance = similarity to the item), a tie broken by float noise.
    st.fixed_dictionaries(
        {
            "op": st.just("search"),
            "q": seeded_vectors,
            "k": ks,
            "where": wheres,
            "mmr": st.sampled_from([0.3, 0.5, 0.8]),
            "per_document": st.booleans(),
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("search_batch"),
            "qs": st.lists(queries, min_size=1, max_size=3),
            "k": ks,
            "where": wheres,
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("query"),
            "expr": st.builds(
                lambda ts, ss: (
                    ts[0] + "".join(f" {s} {t}" for s, t in zip(ss, ts[1:], strict=False))
                ),
                st.lists(terms, min_size=1, max_size=3),
                signs,
            ),
            "k": ks,
            "where": wheres,
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("analogy"),
            "pos": st.lists(item_refs, min_size=1, max_size=2),
            "neg": st.lists(item_refs, max_size=2),
            "k": ks,
            "method": st.sampled_from(["3cosadd", "3cosmul"]),
            "where": wheres,
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("recommend"),
            "pos": st.lists(item_refs, min_size=1, max_size=2),
            "neg": st.lists(item_refs, max_size=2),
            "k": ks,
            "strategy": st.sampled_from(["average_vector", "best_score", "sum_scores"]),
            "where": wheres,
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("interpolate"),
            "a": item_refs,
            "b": queries,
            "steps": st.integers(2, 4),
            "k": st.integers(1, 5),
            "where": wheres,
        }
    ),
)
vector_reads = st.one_of(
    st.fixed_dictionaries(
        {
            "op": st.just("centroid"),
            "ids": st.one_of(st.none(), st.lists(REFS, min_size=1, max_size=3)),
            "where": wheres,
        }
    ),
    st.fixed_dictionaries(
        {
            "op": st.just("direction"),
            "pos": st.lists(item_refs, min_size=1, max_size=2),
            "neg": st.lists(item_refs, max_size=2),
        }
    ),
    st.fixed_dictionaries({"op": st.just("embed_query"), "q": item_refs}),
)


def call(c: ls.Collection, r: dict[str, Any], p: list[str] | None) -> Any:
    op = r["op"]
    if op == "search":
        return c.search(
            r["q"],
            r["k"],
            where=r["where"],
            principals=p,
            mmr=r["mmr"],
            per_document=r["per_document"],
        )
    if op == "search_batch":
        return [
            h for hs in c.search_batch(r["qs"], r["k"], where=r["where"], principals=p) for h in hs
        ]
    if op == "query":
        return c.query(r["expr"], r["k"], where=r["where"], principals=p)
    if op == "analogy":
        return c.analogy(
            r["pos"], r["neg"], r["k"], method=r["method"], where=r["where"], principals=p
        )
    if op == "recommend":
        return c.recommend(
            r["pos"], r["neg"], r["k"], strategy=r["strategy"], where=r["where"], principals=p
        )
    if op == "interpolate":
        steps = c.interpolate(r["a"], r["b"], r["steps"], k=r["k"], where=r["where"], principals=p)
        return [h for s in steps for h in s.hits]
    if op == "centroid":
        return c.centroid(r["ids"], where=None if r["ids"] else r["where"], principals=p)
    if op == "direction":
        return c.direction(r["pos"], r["neg"], principals=p)
    assert op == "embed_query"
    return c.embed_query(r["q"], principals=p)


def check(world: World, read: dict[str, Any], caller: list[str], exact_max: int) -> None:
    """One read as ``caller`` on the world equals the same read unrestricted on the twin."""
    twin = world.twin(caller)
    world.col.planner.exact_max = exact_max  # the planner's route must never change the answer
    got = outcome(lambda: call(world.col, read, caller))
    want = outcome(lambda: call(twin, read, None), {twin.name: world.col.name})
    what = f"{read['op']} as {caller}"
    if got.error is None and isinstance(got.value, list):
        leaked = {h.id for h in got.value} - world.visible_ids(caller)
        assert not leaked, f"{what} returned hidden items {leaked}"
    compare = assert_close if isinstance(got.value, np.ndarray) else assert_same_hits
    assert_same_outcome(got, want, what, compare)


def test_dense_reads_equal_the_visible_only_twin(world: World, kind: str) -> None:
    @given(
        writes=write_strategy(world.ids()),
        caller=any_callers,
        read=st.one_of(reads, reads, vector_reads),
        exact_max=st.sampled_from([0, 10**6]),
    )
    def prop(writes: list, caller: list[str], read: dict[str, Any], exact_max: int) -> None:
        count(kind, writes=writes, caller=caller, read=read, exact_max=exact_max)
        with world.writes(writes):
            check(world, read, caller, exact_max)

    run_cases(kind, N, prop)
