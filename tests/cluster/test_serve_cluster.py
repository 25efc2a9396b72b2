"""`latentsearch serve --cluster`: two server processes fronting one sharded collection.

The company corpus of tests/serverkit.py goes into a collection of 2 shards x 2 replicas with
the same keys; two real `serve --cluster auto` processes (RAY_ADDRESS names the test cluster)
must answer every caller identically, with the permissions of today's server, and see each
other's writes at once. When every replica of a shard is gone a search is a 503 with a JSON
error, and with ``allow_partial`` a 200 whose ``missing_shards`` names the shard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import ray
from cranfieldkit import dropping
from pgkit import pg_schema
from raykit import RayCluster
from serverkit import CORPUS, ENG_SECRET, PRIVATE, SALES, SALES_SECRET, Keys

import latentsearch as ls
from latentsearch.server import keystore
from latentsearch.testing.server_process import running_server

pytestmark = pytest.mark.slow
TOPICS = ("printer", "parking", "cafeteria", "badge", "laptop", "travel", "payroll", "onboarding")
# Public notes beside the company corpus: a caller's allowed set then exceeds the planner's exact
# route (64 items, scored from PostgreSQL), so searches go to the shard actors.
FILLER = [
    {"id": f"note-{i}", "text": f"Office note {i} about {TOPICS[i % 8]}, week {i}.", "acl": ["*"]}
    for i in range(100)
]
EVERYONE = {r["id"] for r in CORPUS + FILLER if r["acl"] == ["*"]}
QUERIES = ["vpn outage", "database failover", "holiday calendar", "expenses receipts"]


@dataclass
class Fronts:
    a: httpx.Client
    b: httpx.Client
    keys: Keys
    db: ls.Database  # the test's own connection to the cluster (to kill shard actors)


def _build(db: ls.Database) -> Keys:
    col = db.create_collection(
        "docs", encoder="text", require_principals=True, shards=2, replicas=2
    )
    col.add(CORPUS + FILLER)
    with db.store.transaction() as s:
        return Keys(
            alice=keystore.create_key(s, "alice", ["eng"], "reader").key,
            bob=keystore.create_key(s, "bob", ["sales"], "reader").key,
            writer=keystore.create_key(s, "wendy", ["eng"], "writer").key,
            admin=keystore.create_key(s, "root", [], "admin").key,
            revoked="ls_revoked_unused",
        )


@pytest.fixture(scope="module")
def fronts(
    ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> Iterator[Fronts]:
    index = tmp_path_factory.mktemp("serve") / "index"
    with ExitStack() as stack:
        url = stack.enter_context(pg_schema(pg_admin))
        db = stack.enter_context(ls.connect(index, database=url, cluster=ray_cluster.address))
        stack.enter_context(dropping(db, "docs"))
        keys = _build(db)
        args = ("--cluster", "auto")
        clients = []
        for name in ("a", "b"):
            base = stack.enter_context(
                running_server(index, url, extra_args=args, log_file=index / f"{name}.log")
            )
            clients.append(stack.enter_context(httpx.Client(base_url=base, timeout=60)))
        yield Fronts(clients[0], clients[1], keys, db)


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def hits(resp: httpx.Response) -> list[tuple[str, float]]:
    assert resp.status_code == 200, resp.text
    return [(x["id"], round(x["score"], 5)) for x in resp.json()["hits"]]


def test_two_fronts_answer_every_caller_identically(fronts: Fronts) -> None:
    for key, group in ((fronts.keys.alice, "group:eng"), (fronts.keys.bob, SALES)):
        for q in QUERIES:
            body = {"text": q, "k": 10}
            a = fronts.a.post("/collections/docs/search", json=body, headers=h(key))
            b = fronts.b.post("/collections/docs/search", json=body, headers=h(key))
            assert hits(a) == hits(b) and len(hits(a)) == 10
            assert {i for i, _ in hits(a)} <= PRIVATE[group] | EVERYONE
            assert a.json()["missing_shards"] == []
            expr = {"expr": f'"{q}"', "k": 5}
            qa = fronts.a.post("/collections/docs/query", json=expr, headers=h(key))
            qb = fronts.b.post("/collections/docs/query", json=expr, headers=h(key))
            assert hits(qa) == hits(qb)


def test_permissions_and_keys_are_as_today(fronts: Fronts) -> None:
    alice, bob = h(fronts.keys.alice), h(fronts.keys.bob)
    for client in (fronts.a, fronts.b):
        assert client.post("/collections/docs/search", json={"text": "vpn"}).status_code == 401
        text = client.post("/collections/docs/search", json={"text": SALES_SECRET}, headers=alice)
        assert SALES_SECRET not in text.text
        text = client.post("/collections/docs/search", json={"text": ENG_SECRET}, headers=bob)
        assert ENG_SECRET not in text.text
        # A hidden item is answered exactly like a missing one.
        hidden = client.get("/collections/docs/items/sales-q3", headers=alice)
        missing = client.get("/collections/docs/items/no-such-item", headers=alice)
        assert hidden.status_code == missing.status_code == 404
        assert client.get("/collections", headers=alice).json()[0]["count"] == 105


def test_a_write_through_one_front_is_seen_by_the_other_at_once(fronts: Fronts) -> None:
    record = {"id": "eng-new", "text": "Kubernetes upgrade runbook for the gateway cluster."}
    record["acl"] = ["group:eng"]  # type: ignore[assignment]
    w = fronts.a.post(
        "/collections/docs/items", json={"records": [record]}, headers=h(fronts.keys.writer)
    )
    assert w.status_code == 201, w.text
    body = {"text": "kubernetes upgrade", "k": 3}
    got = fronts.b.post("/collections/docs/search", json=body, headers=h(fronts.keys.alice))
    assert hits(got)[0][0] == "eng-new"
    bob = fronts.b.post("/collections/docs/search", json=body, headers=h(fronts.keys.bob))
    assert "eng-new" not in {i for i, _ in hits(bob)}


def _shard_actors(shard: int) -> list[Any]:
    """The replicas of ``shard`` of the test's one sharded collection (named actors)."""
    named = ray.util.list_named_actors(all_namespaces=True)
    return [
        ray.get_actor(a["name"], namespace="latentsearch")
        for a in named
        if a["namespace"] == "latentsearch" and a["name"].split("/")[-2] == str(shard)
    ]


def test_a_lost_shard_is_a_503_or_a_marked_partial_answer(fronts: Fronts) -> None:
    body = {"text": "vpn outage", "k": 10}
    alice = h(fronts.keys.alice)
    full = hits(fronts.a.post("/collections/docs/search", json=body, headers=alice))
    actors = _shard_actors(1)
    assert len(actors) == 2
    for actor in actors:
        ray.kill(actor, no_restart=True)
    for client in (fronts.a, fronts.b):
        resp = client.post("/collections/docs/search", json=body, headers=alice)
        assert resp.status_code == 503, resp.text
        assert "shard" in resp.json()["error"]
        assert resp.headers["retry-after"]
        part = client.post(
            "/collections/docs/search",
            json={**body, "allow_partial": True},
            headers=alice,
        )
        assert part.status_code == 200, part.text
        assert part.json()["missing_shards"] == [1]
        got = hits(part)
        # Shard 0's exact ranking: full's hits it holds, in order and with the same scores,
        # then the next of its own; shard 1's hits are missing, not replaced silently.
        assert len(got) == 10 and [x for x in full if x in got] == got[: len(set(full) & set(got))]
        assert set(full) - set(got), "shard 1 held none of the top 10?"
