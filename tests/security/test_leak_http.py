"""Leaks over HTTP: a real `latentsearch serve` (two workers on PostgreSQL; SQLite serves one
process) with several API keys.

Read paths: search (dense by vector or id, keyword by text), query expressions, analogy, items,
facets and the visible counts of /collections, as reader and writer keys of different groups and
as an admin `on_behalf_of` random users. Each case compares the server's answer with the same
read, unrestricted and in process, on the caller's visible-only twin: the same hits and scores, or
the same status and byte-identical error body. A hidden id is therefore answered exactly as a
missing one. The admin writes (PUT/DELETE) between cases reach one worker and must be seen by
the other, and are rolled back after each case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from full import scaled
from hypothesis import given
from hypothesis import strategies as st
from leakkit import (
    DIM,
    GROUPS,
    TAGS,
    USERS,
    WORDS,
    World,
    assert_same_hits,
    base_records,
    item_key,
    principals,
    seeded_vectors,
    vector_twin,
    write_strategy,
)
from leakrun import count, run_cases, world_seed
from pgkit import PG_URL
from query_support import database as open_database

import latentsearch as ls
from latentsearch.errors import LatentSearchError
from latentsearch.query import facets as stats
from latentsearch.server import keystore
from latentsearch.server.errors import STATUS
from latentsearch.testing.server_process import running_server

BASE = base_records(world_seed() + 4)
IDS = [r["id"] for r in BASE]
REFS = st.sampled_from([*IDS, "new1", "missing", "doc1"])
NAME = "vecs"
N = scaled(650, 3250)
N_KEYWORD = scaled(150, 750)
# The keys: (user, groups, role). Readers and a writer of different groups, and an admin.
KEYS = [
    ("a", (), "reader"),
    ("a", ("x",), "reader"),
    ("b", ("y",), "reader"),
    ("c", ("x", "y"), "reader"),
    ("z", (), "reader"),
    ("b", ("x",), "writer"),
]


@dataclass
class Server:
    url: str
    keys: dict[tuple[str, tuple[str, ...], str], str]
    admin: str
    http: httpx.Client
    log: Path


class HttpOwner:
    """The world's writes, sent as the admin over HTTP (so `World.writes` can roll them back)."""

    def __init__(self, server: Server) -> None:
        self.s = server

    def upsert(self, records: list[dict]) -> None:
        r = self.s.http.put(
            f"/collections/{NAME}/items", json={"records": records}, headers=_auth(self.s.admin)
        )
        assert r.status_code == 200, r.text

    def delete(self, ids: list[str]) -> None:
        r = self.s.http.request(
            "DELETE", f"/collections/{NAME}/items", json={"ids": ids}, headers=_auth(self.s.admin)
        )
        assert r.status_code == 200, r.text


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def server(
    kind: str, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> Iterator[tuple[Server, ls.Database]]:
    folder = tmp_path_factory.mktemp("http")
    index = folder / "index"
    with open_database(kind, index, pg_admin, PG_URL) as db:
        db.create_collection(NAME, dim=DIM, index="Flat").add(BASE)
        with db.store.transaction() as s:
            keys = {k: keystore.create_key(s, k[0], list(k[1]), k[2]).key for k in KEYS}
            admin = keystore.create_key(s, "root", [], "admin").key
        database = None if kind == "sqlite" else _url_of(db)
        db.close()  # the server alone uses the world from here on
        log = folder / "server.log"
        workers = 1 if kind == "sqlite" else 2  # `serve` runs SQLite in one process only
        with (
            open_database(kind, folder / "twins", pg_admin, PG_URL) as twins,
            running_server(index, database, workers=workers, log_file=log) as base,
            httpx.Client(
                base_url=base,
                timeout=60,
                limits=httpx.Limits(max_keepalive_connections=0),  # new connections: both workers
            ) as http,
        ):
            yield Server(base, keys, admin, http, log), twins


def _url_of(db: ls.Database) -> str:
    return db.store.engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def world(server: tuple[Server, ls.Database]) -> World:
    srv, twins = server
    return World(HttpOwner(srv), twins, {r["id"]: r for r in BASE}, vector_twin)  # type: ignore[arg-type]


# -- generated requests ------------------------------------------------------------------------
wheres = st.one_of(
    st.none(),
    st.builds(lambda g: {"g": g}, st.integers(0, 2)),
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda ids: {"id": {"$in": ids}}, st.lists(REFS, min_size=1, max_size=4)),
    st.just({"g": {"$bogus": 1}}),
)
key_callers = st.sampled_from(KEYS)
behalf = st.builds(
    lambda u, gs: {"user": u, "groups": sorted(gs)},
    st.sampled_from(USERS),
    st.lists(st.sampled_from(GROUPS), max_size=2, unique=True),
)
# Who asks: a key, or (search routes only) the admin on behalf of a random user.
askers = st.one_of(
    st.builds(lambda k: {"key": k}, key_callers), st.builds(lambda b: {"on_behalf_of": b}, behalf)
)
ks = st.integers(1, 30)
search_bodies = st.one_of(
    st.fixed_dictionaries(
        {
            "vector": seeded_vectors,
            "k": ks,
            "where": wheres,
            "per_document": st.booleans(),
            # (not from an item's own vector: there MMR at 0.5 ties every candidate at 0)
            "mmr": st.sampled_from([None, 0.5]),
        }
    ),
    st.fixed_dictionaries({"id": REFS, "k": ks, "where": wheres}),
)
keyword_bodies = st.fixed_dictionaries(
    {
        "text": st.lists(st.sampled_from([*WORDS, "zebra"]), min_size=1, max_size=3).map(" ".join),
        "mode": st.just("keyword"),
        "k": ks,
        "where": wheres,
    }
)
keyword_reads = st.fixed_dictionaries(
    {"route": st.just("search"), "body": keyword_bodies, "who": askers}
)
term = st.one_of(st.builds(lambda r: f"@{r}", REFS), REFS)
reads = st.one_of(
    st.fixed_dictionaries({"route": st.just("search"), "body": search_bodies, "who": askers}),
    st.fixed_dictionaries(
        {
            "route": st.just("query"),
            "body": st.fixed_dictionaries(
                {
                    "expr": st.lists(term, min_size=1, max_size=3).map(" - ".join),
                    "k": ks,
                    "where": wheres,
                }
            ),
            "who": askers,
        }
    ),
    st.fixed_dictionaries(
        {
            "route": st.just("analogy"),
            "body": st.fixed_dictionaries(
                {
                    "positive": st.lists(
                        st.builds(lambda r: {"id": r}, REFS), min_size=1, max_size=2
                    ),
                    "negative": st.lists(st.builds(lambda r: {"id": r}, REFS), max_size=2),
                    "k": ks,
                    "method": st.sampled_from(["3cosadd", "3cosmul"]),
                    "where": wheres,
                }
            ),
            "who": askers,
        }
    ),
    st.fixed_dictionaries(
        {"route": st.just("item"), "id": REFS, "who": st.builds(lambda k: {"key": k}, key_callers)}
    ),
    st.fixed_dictionaries(
        {
            "route": st.just("facets"),
            "fields": st.sampled_from([None, ["g"], ["tag", "nope"]]),
            "who": st.builds(lambda k: {"key": k}, key_callers),
        }
    ),
    st.fixed_dictionaries(
        {"route": st.just("collections"), "who": st.builds(lambda k: {"key": k}, key_callers)}
    ),
)


# -- one request, and what the twin says it must answer ----------------------------------------
def caller_of(who: dict[str, Any]) -> list[str]:
    if "key" in who:
        user, groups, _ = who["key"]
        return principals(user, groups)
    b = who["on_behalf_of"]
    return principals(b["user"], b["groups"])


def send(srv: Server, read: dict[str, Any]) -> httpx.Response:
    who = read["who"]
    key = srv.keys[who["key"]] if "key" in who else srv.admin
    route = read["route"]
    if route in ("search", "query", "analogy"):
        body = {k: v for k, v in read["body"].items() if v is not None}
        if "on_behalf_of" in who:
            body["on_behalf_of"] = who["on_behalf_of"]
        return srv.http.post(f"/collections/{NAME}/{route}", json=body, headers=_auth(key))
    if route == "item":
        return srv.http.get(f"/collections/{NAME}/items/{read['id']}", headers=_auth(key))
    if route == "facets":
        params = [("fields", f) for f in read["fields"] or []]
        return srv.http.get(f"/collections/{NAME}/facets", params=params, headers=_auth(key))
    return srv.http.get("/collections", headers=_auth(key))


def expect(twin: ls.Collection, read: dict[str, Any]) -> tuple[int, Any]:
    """The twin's answer, unrestricted, in the server's terms: (status, hits | item | body)."""
    try:
        return 200, _expect(twin, read)
    except LatentSearchError as exc:
        status = next((code for cls, code in STATUS if isinstance(exc, cls)), 400)
        return status, {"error": str(exc).replace(repr(twin.name), repr(NAME))}


def _expect(twin: ls.Collection, read: dict[str, Any]) -> Any:
    route, body = read["route"], read.get("body", {})
    if route == "search":
        if "id" in body:
            twin.get(body["id"])  # the route's own check: 404 unless the caller may see it
        query = body.get("text") or body.get("vector") or {"id": body.get("id")}
        return twin.search(
            query,
            body["k"],
            mode=body.get("mode", "dense"),
            where=body["where"],
            mmr=body.get("mmr"),
            per_document=body.get("per_document", False),
            # a public-only caller sees the whole twin; its BM25 statistics then span the twin
            # alone (unrestricted SQLite reads FTS5's totals over every twin in the database)
            principals=[],
        )
    if route == "query":
        return twin.query(body["expr"], body["k"], where=body["where"])
    if route == "analogy":
        return twin.analogy(
            body["positive"],
            body["negative"],
            body["k"],
            method=body["method"],
            where=body["where"],
        )
    if route == "item":
        return item_key(twin.get(read["id"]))
    with twin._space.store.session() as s:
        if route == "facets":
            f = stats.facets(s, twin.id, fields=read["fields"])
            return {
                "facets": {
                    k: [{"value": v.value, "count": v.count} for v in vs]
                    for k, vs in f.fields.items()
                },
                "scanned": f.scanned,
            }
        return stats.count_visible(s, twin.id, None)


def _hit(h: dict[str, Any]) -> SimpleNamespace:
    chunk = SimpleNamespace(**h["chunk"]) if h.get("chunk") else None
    return SimpleNamespace(
        id=h["id"],
        score=h["score"],
        kind=h["kind"],
        text=h["text"],
        metadata=h["metadata"],
        source=SimpleNamespace(**h["source"]),
        chunk=chunk,
    )


def check(srv: Server, world: World, read: dict[str, Any]) -> None:
    caller = caller_of(read["who"])
    twin = world.twin(caller)
    r = send(srv, read)
    status, want = expect(twin, read)
    what = f"{read['route']} as {read['who']}"
    assert r.status_code == status, (
        f"{what}: HTTP {r.status_code} {r.text[:300]}, twin: {status} {want}"
    )
    got = r.json()
    if status != 200:
        assert got == want, f"{what}: body {got}, twin {want}"
        return
    route = read["route"]
    if route in ("search", "query", "analogy"):
        hits = [_hit(h) for h in got["hits"]]
        leaked = {h.id for h in hits} - world.visible_ids(caller)
        assert not leaked, f"{what} returned hidden items {leaked}"
        assert_same_hits(hits, want, what)
    elif route == "item":
        it = SimpleNamespace(**{**got, "source": SimpleNamespace(**got["source"])})
        it.chunk = SimpleNamespace(**got["chunk"]) if got.get("chunk") else None
        assert item_key(it) == want, f"{what}: {got} != twin {want}"
        assert sorted(got["acl"]) == sorted(world.records[got["id"]]["acl"])
    elif route == "facets":
        assert got == want, f"{what}: {got} != twin {want}"
    else:
        counts = {c["name"]: c["count"] for c in got}
        assert counts[NAME] == want, f"{what}: count {counts[NAME]} != twin {want}"


def test_http_reads_equal_the_visible_only_twin(
    server: tuple[Server, ls.Database], world: World, kind: str
) -> None:
    srv, _ = server
    for (user, groups, _), key in srv.keys.items():  # the oracle's premise: each key's principals
        me = srv.http.get("/me", headers=_auth(key)).json()
        assert me["principals"] == principals(user, groups)

    @given(writes=write_strategy(IDS), read=reads)
    def prop(writes: list, read: dict[str, Any]) -> None:
        count(kind, writes=writes, read=read)
        with world.writes(writes):
            check(srv, world, read)

    run_cases(kind, N, prop)


def test_http_keyword_search_equals_the_visible_only_twin(
    server: tuple[Server, ls.Database], world: World, kind: str
) -> None:
    """BM25 over the caller's visible set, over HTTP too (issue 11, defect 7)."""
    srv, _ = server

    @given(writes=write_strategy(IDS), read=keyword_reads)
    def prop(writes: list, read: dict[str, Any]) -> None:
        count(kind, writes=writes, read=read)
        with world.writes(writes):
            check(srv, world, read)

    run_cases(kind, N_KEYWORD, prop)


def test_server_log_has_no_unhandled_errors(server: tuple[Server, ls.Database]) -> None:
    """Every answer above was a typed one: nothing reached the 500 handler."""
    text = server[0].log.read_text(errors="replace")
    assert "unhandled error" not in text, text[-3000:]
