"""A sharded exact index answers exactly as one process does: Cranfield, all 225 queries.

The same Cranfield vectors go into a collection of 2 shards x 2 replicas on the two-node Ray
cluster and into a single-process collection (cluster=None), each in its own PostgreSQL
schema, both with an exact ``Flat`` index. Every query, without a filter, with metadata
filters, with principals and with both, must give the same ids in the same order and the same
scores to 1e-5: the planner's allowed set, split by shard, searched by each shard and merged,
is the single-process top-k. Half the items are added before a `rebuild` (the shards fill from
PostgreSQL) and half after (the writes go to each owning shard's replicas).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cranfieldkit import DIM, add_all, cranfield, dropping, same_hits
from pgkit import pg_schema
from raykit import RayCluster

import latentsearch as ls

K = 10
# (where, principals): each selects a known share of the 1,398 documents.
CASES: list[tuple[dict[str, Any] | None, list[str] | None]] = [
    (None, None),
    ({"parity": 1}, None),
    ({"band": {"$in": [0, 3]}}, None),
    (None, ["group:a"]),
    (None, ["user:nobody", "group:b"]),
    ({"parity": 0}, ["group:b"]),
    ({"$or": [{"band": 1}, {"parity": 1}]}, ["group:a", "group:b"]),
]


@dataclass
class Pair:
    sharded: ls.Collection  # 2 shards x 2 replicas on the cluster
    single: ls.Collection  # cluster=None
    db: ls.Database  # the sharded collection's
    url: str  # its PostgreSQL URL
    folder: Path  # its index folder


@pytest.fixture(scope="module")
def pair(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> Iterator[Pair]:
    data = cranfield()
    half = len(data.records) // 2
    folder = tmp_path_factory.mktemp("equivalence")
    with (
        pg_schema(pg_admin) as url_c,
        pg_schema(pg_admin) as url_s,
        ls.connect(folder / "c", database=url_c, cluster=ray_cluster.address) as dbc,
        ls.connect(folder / "s", database=url_s) as dbs,
        dropping(dbc, "cran"),
    ):
        sharded = dbc.create_collection("cran", dim=DIM, index="Flat", shards=2, replicas=2)
        add_all(sharded, data.records[:half])
        sharded.rebuild()
        add_all(sharded, data.records[half:])
        single = dbs.create_collection("cran", dim=DIM, index="Flat")
        add_all(single, data.records)
        yield Pair(sharded, single, dbc, url_c, folder / "c")


def test_the_collection_is_sharded_and_replicated(
    pair: Pair,
) -> None:
    sharded, single = pair.sharded, pair.single
    assert sharded.count() == single.count() == len(cranfield().records)
    status = pair.db.cluster_status()
    replicas = [r for r in status.replicas if r.collection == "cran"]
    assert sorted((r.shard, r.replica) for r in replicas) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(r.alive for r in replicas)
    # id % 2 places the items: the two shards split the collection, each replica holds its shard.
    per_shard = {r.shard: r.vectors for r in replicas}
    assert sum(per_shard.values()) == single.count()
    assert min(per_shard.values()) > 0.4 * single.count()
    # Two nodes: the replicas of each shard are on different nodes.
    for shard in (0, 1):
        nodes = {r.node for r in replicas if r.shard == shard}
        assert len(nodes) == 2, f"shard {shard}'s replicas share a node: {replicas}"


@pytest.mark.parametrize(("where", "principals"), CASES)
def test_every_query_equals_the_single_process_answer(
    pair: Pair,
    where: dict[str, Any] | None,
    principals: list[str] | None,
) -> None:
    sharded, single = pair.sharded, pair.single
    qs = cranfield().queries
    got = sharded.search_batch(qs, K, where=where, principals=principals)
    want = single.search_batch(qs, K, where=where, principals=principals)
    assert len(got) == len(want) == 225
    swaps = [
        swap
        for i, (g, w) in enumerate(zip(got, want, strict=True))
        for swap in same_hits(g, w, f"query {i + 1} where={where} principals={principals}")
    ]
    print("\n".join(swaps))
    # Two items whose scores tie to 1e-6 may come in either order; more than a few is a bug.
    assert len(swaps) <= 5, f"{len(swaps)} tied hits swapped places"
    assert all(len(w) == K for w in want)  # every case leaves more than k documents
    assert all(g.missing_shards == () for g in got)  # a complete answer says so
    # One query at a time (a different call per shard) gives the batch's answers.
    for i in (0, 57, 224):
        one = sharded.search(qs[i], K, where=where, principals=principals)
        same_hits(one, want[i], f"single query {i + 1}")


def test_the_same_sql_state_opened_without_a_cluster_answers_the_same(
    pair: Pair, tmp_path: Path
) -> None:
    """The shard files are a cache: the cluster's database opened by one process (cluster=None,
    another folder) builds its index from PostgreSQL and answers as the shards do."""
    sharded = pair.sharded
    qs = cranfield().queries[:40]
    with ls.connect(tmp_path / "plain", database=pair.url) as db:
        plain = db.collection("cran")
        for where, principals in CASES[::3]:
            got = sharded.search_batch(qs, K, where=where, principals=principals)
            want = plain.search_batch(qs, K, where=where, principals=principals)
            for i, (g, w) in enumerate(zip(got, want, strict=True)):
                same_hits(g, w, f"query {i + 1} where={where} principals={principals}")


def test_exact_scores_are_the_inner_products(
    pair: Pair,
) -> None:
    """An independent check of the merged scores: cosine = dot product of unit vectors."""
    sharded = pair.sharded
    data = cranfield()
    by_id = {r["id"]: r["vector"] for r in data.records}
    q = data.queries[3]
    hits = sharded.search(q, K)
    unit = q / np.linalg.norm(q)
    for h in hits:
        v = by_id[h.id] / np.linalg.norm(by_id[h.id])
        assert abs(float(unit @ v) - h.score) < 1e-5
    brute = sorted(by_id, key=lambda i: -float(unit @ (by_id[i] / np.linalg.norm(by_id[i]))))
    assert [h.id for h in hits] == brute[:K]


def test_cluster_status_command(pair: Pair) -> None:
    """`latentsearch cluster status`: the table and the JSON name every replica and node."""
    from typer.testing import CliRunner

    from latentsearch.cli import app

    args = ["cluster", "status", "--index", str(pair.folder), "--database", pair.url]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert len([n for n in report["nodes"] if n["alive"]]) == 2
    replicas = [r for r in report["replicas"] if r["collection"] == "cran"]
    assert sorted((r["shard"], r["replica"]) for r in replicas) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(r["alive"] and r["pid"] and r["seq"] is not None for r in replicas)
    assert sum(r["vectors"] for r in replicas) == 2 * pair.single.count()
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "Shard replicas" in table.stdout and "cran" in table.stdout
