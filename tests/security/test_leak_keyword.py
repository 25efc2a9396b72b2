"""Leaks through keyword (BM25) and hybrid search, in process.

Keyword search ranks by BM25, whose statistics (document frequencies, the number of documents,
the average length) must come from the items the caller can see: otherwise a caller learns
whether a hidden document contains a word by how a visible one scores (issue 11, defect 7). So
each case requires the world's keyword answer for a caller to equal the unrestricted answer of
the caller's visible-only twin, hits and scores. Hybrid mode fuses dense and keyword rankings and
inherits the same rule.

The keyword world holds raw vectors whose titles carry the words (titles are keyword-indexed);
the hybrid world holds short texts (the bundled text encoder, shared with its twins).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from full import scaled
from hypothesis import given
from hypothesis import strategies as st
from leakkit import (
    DIM,
    TAGS,
    WORDS,
    World,
    any_callers,
    assert_same_hits,
    assert_same_outcome,
    base_records,
    outcome,
    vector_twin,
    write_strategy,
)
from leakrun import count, run_cases, world_seed

import latentsearch as ls
from latentsearch.query import hybrid

CEO = "user:ceo"

BASE = base_records(world_seed() + 2)
IDS = [r["id"] for r in BASE]
TEXTS = [f"{a} {b} report" for a in WORDS[:4] for b in WORDS[3:]]
TEXT_BASE = base_records(world_seed() + 3, n=12, text=lambda i: TEXTS[i % len(TEXTS)])
N = scaled(150, 750)
N_HYBRID = scaled(50, 250)

# Query texts: index words, a stop word, a word no item has, punctuation.
texts = st.lists(st.sampled_from([*WORDS, "the", "zebra", "alpha!"]), min_size=1, max_size=3).map(
    " ".join
)
wheres = st.one_of(
    st.none(),
    st.builds(lambda g: {"g": g}, st.integers(0, 2)),
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda i: {"id": {"$in": i}}, st.lists(st.sampled_from(IDS), min_size=1, max_size=5)),
)
keyword_reads = st.fixed_dictionaries(
    {
        "text": texts,
        "k": st.integers(1, 30),
        "where": wheres,
        "per_document": st.booleans(),
        "mode": st.just("keyword"),
    }
)
hybrid_reads = st.fixed_dictionaries(
    {
        "text": texts,
        "k": st.integers(1, 12),
        "where": wheres,
        "per_document": st.booleans(),
        "mode": st.sampled_from(["hybrid", "keyword"]),
        "fusion": st.sampled_from([None, "weighted"]),
    }
)


@pytest.fixture(scope="module")
def world(dbs: tuple[ls.Database, ls.Database]) -> Iterator[World]:
    db, twins = dbs
    col = db.create_collection("words", dim=DIM, index="Flat")
    col.add(BASE)
    yield World(col, twins, {r["id"]: r for r in BASE}, vector_twin)


@pytest.fixture(scope="module")
def text_world(dbs: tuple[ls.Database, ls.Database]) -> Iterator[World]:
    db, twins = dbs
    col = db.create_collection("texts", encoder="text", index="Flat")
    col.add(TEXT_BASE)
    encoder = col.encoder

    def text_twin(d: ls.Database, name: str) -> ls.Collection:
        return d.create_collection(name, encoder=encoder, index="Flat")

    yield World(col, twins, {r["id"]: r for r in TEXT_BASE}, text_twin)


def call(c: ls.Collection, r: dict[str, Any], p: list[str] | None) -> list:
    fusion = hybrid.Fusion(method=r["fusion"]) if r.get("fusion") else None
    return c.search(
        r["text"],
        r["k"],
        mode=r["mode"],
        where=r["where"],
        principals=p,
        per_document=r["per_document"],
        fusion=fusion,
    )


def check(world: World, read: dict[str, Any], caller: list[str], *, scores: bool) -> None:
    twin = world.twin(caller)
    got = outcome(lambda: call(world.col, read, caller))
    # [] (public items only) sees the whole twin, and keeps its BM25 statistics to the twin
    # alone: unrestricted SQLite reads FTS5's totals over every twin in the shared database.
    want = outcome(lambda: call(twin, read, []), {twin.name: world.col.name})
    what = f"{read['mode']} search {read['text']!r} as {caller}"
    if got.error is None:
        leaked = {h.id for h in got.value} - world.visible_ids(caller)
        assert not leaked, f"{what} returned hidden items {leaked}"
    if scores:
        assert_same_outcome(got, want, what, assert_same_hits)
    else:
        assert got.error == want.error, f"{what}: {got.error} != twin's {want.error}"


def test_keyword_hits_are_visible_and_errors_the_same(world: World, kind: str) -> None:
    @given(writes=write_strategy(IDS), caller=any_callers, read=keyword_reads)
    def prop(writes: list, caller: list[str], read: dict[str, Any]) -> None:
        count(kind, writes=writes, caller=caller, read=read)
        with world.writes(writes):
            check(world, read, caller, scores=False)

    run_cases(kind, N, prop)


def test_keyword_scores_equal_the_visible_only_twin(world: World, kind: str) -> None:
    """BM25 over the caller's visible set: hits and scores as if hidden items did not exist."""

    @given(writes=write_strategy(IDS), caller=any_callers, read=keyword_reads)
    def prop(writes: list, caller: list[str], read: dict[str, Any]) -> None:
        count(kind, writes=writes, caller=caller, read=read)
        with world.writes(writes):
            check(world, read, caller, scores=True)

    run_cases(kind, N, prop)


def test_hybrid_equals_the_visible_only_twin(text_world: World, kind: str) -> None:
    ids = list(text_world.base)

    @given(writes=write_strategy(ids, text=TEXTS), caller=any_callers, read=hybrid_reads)
    def prop(writes: list, caller: list[str], read: dict[str, Any]) -> None:
        count(kind, writes=writes, caller=caller, read=read)
        with text_world.writes(writes):
            check(text_world, read, caller, scores=True)

    run_cases(kind, N_HYBRID, prop)


# -- the known leak (issue 11, defect 7), as an example ----------------------------------------
def test_a_hidden_document_does_not_change_a_visible_ones_score(
    dbs: tuple[ls.Database, ls.Database],
) -> None:
    """Two probes: the same visible document, with and without a hidden one containing the word."""
    db, _ = dbs
    scores = []
    for name, hidden in (("probe-a", []), ("probe-b", ["nebula nebula nebula"])):
        col = db.create_collection(name, dim=DIM, index="Flat")
        recs = [
            {
                "id": "pub",
                "vector": [1.0] * DIM,
                "source": {"title": "nebula report"},
                "acl": ["*"],
            },
            {
                "id": "pub2",
                "vector": [0.5] * DIM,
                "source": {"title": "plain report"},
                "acl": ["*"],
            },
        ]
        recs += [
            {
                "id": f"h{i}",
                "vector": [0.1 * (i + 1)] * DIM,
                "source": {"title": t},
                "acl": ["user:ceo"],
            }
            for i, t in enumerate(hidden)
        ]
        col.add(recs)
        hits = col.search("nebula", 5, principals=["user:alice"], mode="keyword")
        assert [h.id for h in hits] == ["pub"]
        scores.append(hits[0].score)
    assert scores[0] == pytest.approx(scores[1], rel=1e-9), (
        f"a hidden document containing the word changed a visible score: {scores}"
    )


def test_another_collections_documents_do_not_change_scores(
    dbs: tuple[ls.Database, ls.Database],
) -> None:
    """Found by the property test: SQLite's FTS5 bm25() takes its statistics from the one keyword
    table of the whole database, so documents of *another collection* (hidden or not) change a
    collection's scores. PostgreSQL's statistics are per collection."""
    db, _ = dbs
    col = db.create_collection("scored", dim=2, index="Flat")
    col.add(
        [{"id": "p", "vector": [1, 0], "source": {"title": "quasar report"}}]
        + [{"id": f"q{i}", "vector": [0, 1], "source": {"title": "plain report"}} for i in range(5)]
    )
    before = col.search("quasar", 3, principals=["user:u"], mode="keyword")
    other = db.create_collection("other", dim=2, index="Flat")
    other.add(
        [
            {"id": f"x{i}", "vector": [1, 0], "source": {"title": "quasar quasar"}, "acl": [CEO]}
            for i in range(2)
        ]
    )
    after = col.search("quasar", 3, principals=["user:u"], mode="keyword")
    assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in before]
