"""Hostile values over HTTP get a 4xx, never a 500, and change nothing: every read still answers
everyone exactly as before (issue 11: defects 3 and 4). On PostgreSQL against a real `serve`
process (where NUL bytes used to escape as DataError), on SQLite in process (TestClient)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from serverkit import CORPUS, Keys, build, serve
from test_security_values import store_state

import latentsearch as ls
from latentsearch.server import Settings, create_app

Send = Callable[[str, str, str | None, str], httpx.Response]

HUGE = "9" * 400  # a JSON integer Python parses exactly; float() of it overflows
EQ_ENG = '{"$eq": "eng"}'
TEAM_ENG = '{"team": "eng"}'


def nested(op: str, levels: int, leaf: str) -> str:
    for _ in range(levels):
        leaf = f'{{"{op}": {leaf}}}' if op == "$not" else f'{{"{op}": [{leaf}]}}'
    return leaf


def search(where: str) -> str:
    return f'{{"text": "vpn outage", "where": {where}}}'


def put(record: str) -> str:
    return f'{{"records": [{record}]}}'


# (method, path, raw JSON body, key) -> a 4xx. JSON escapes carry the lone surrogates and NULs.
CASES: dict[str, tuple[str, str, str | None, str]] = {
    "filter huge int": ("POST", "/collections/docs/search", search(f'{{"team": {HUGE}}}'), "alice"),
    "filter huge int in $in": (
        "POST",
        "/collections/docs/search",
        search(f'{{"team": {{"$in": ["eng", -{HUGE}]}}}}'),
        "alice",
    ),
    "filter surrogate value": (
        "POST",
        "/collections/docs/search",
        search('{"team": "\\ud800"}'),
        "alice",
    ),
    "filter surrogate key": (
        "POST",
        "/collections/docs/search",
        search('{"\\udc00x": 1}'),
        "alice",
    ),
    "filter surrogate operator": (
        "POST",
        "/collections/docs/search",
        search('{"team": {"$eq\\ud800": 1}}'),
        "alice",
    ),
    "filter 900 nested $not": (
        "POST",
        "/collections/docs/search",
        search(f'{{"team": {nested("$not", 900, EQ_ENG)}}}'),
        "alice",
    ),
    "filter 900 nested $and": (
        "POST",
        "/collections/docs/search",
        search(nested("$and", 900, TEAM_ENG)),
        "alice",
    ),
    "filter nul value": (
        "POST",
        "/collections/docs/search",
        search('{"team": "eng\\u0000"}'),
        "alice",
    ),
    "filter nul id": (
        "POST",
        "/collections/docs/search",
        search('{"id": "eng-vpn\\u0000"}'),
        "alice",
    ),
    "filter nul uri": (
        "POST",
        "/collections/docs/search",
        search('{"source.uri": {"$in": ["\\u0000"]}}'),
        "alice",
    ),
    "query filter huge int": (
        "POST",
        "/collections/docs/query",
        f'{{"expr": "\\"vpn\\"", "where": {{"team": {HUGE}}}}}',
        "alice",
    ),
    "analogy filter nul": (
        "POST",
        "/collections/docs/analogy",
        '{"positive": ["vpn"], "where": {"team": "\\u0000"}}',
        "alice",
    ),
    "search by nul id": ("POST", "/collections/docs/search", '{"id": "eng-vpn\\u0000"}', "alice"),
    "analogy nul id": (
        "POST",
        "/collections/docs/analogy",
        '{"positive": [{"id": "\\u0000"}]}',
        "alice",
    ),
    "search nul text": ("POST", "/collections/docs/search", '{"text": "vpn\\u0000"}', "alice"),
    "get nul id": ("GET", "/collections/docs/items/eng-vpn%00", None, "alice"),
    "facets nul field": ("GET", "/collections/docs/facets?fields=team%00", None, "alice"),
    "put nul id": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n\\u0000", "text": "x"}'),
        "writer",
    ),
    "post nul id": (
        "POST",
        "/collections/docs/items",
        put('{"id": "n\\u0000", "text": "x"}'),
        "writer",
    ),
    "put nul text": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n1", "text": "x\\u0000"}'),
        "writer",
    ),
    "put nul metadata": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n2", "text": "x", "metadata": {"team": "\\u0000"}}'),
        "writer",
    ),
    "put nul metadata key": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n3", "text": "x", "metadata": {"a": [{"\\u0000": 1}]}}'),
        "writer",
    ),
    "put surrogate metadata": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n4", "text": "x", "metadata": {"team": "\\ud800"}}'),
        "writer",
    ),
    "put deep metadata": (
        "PUT",
        "/collections/docs/items",
        put(f'{{"id": "n5", "text": "x", "metadata": {nested("$not", 100, "1")}}}'),
        "writer",
    ),
    "put nul acl": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n6", "text": "x", "acl": ["group:eng\\u0000"]}'),
        "writer",
    ),
    "put nul uri": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n7", "text": "x", "source": {"uri": "https://x\\u0000"}}'),
        "writer",
    ),
    "put surrogate title": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n8", "text": "x", "source": {"title": "\\udfff"}}'),
        "writer",
    ),
    "put nul chunk parent": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n9", "text": "x", "chunk": {"parent": "p\\u0000", "start": 0, "end": 1}}'),
        "writer",
    ),
    "put chunk beyond 32 bits": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "n10", "text": "x", "chunk": {"parent": "p", "start": 4294967296, "end": 1}}'),
        "writer",
    ),
    "admin put nul metadata": (
        "PUT",
        "/collections/docs/items",
        put('{"id": "eng-vpn", "text": "x", "metadata": {"k": "\\u0000"}}'),
        "admin",
    ),
    "delete where huge int": (
        "DELETE",
        "/collections/docs/items",
        f'{{"where": {{"team": {HUGE}}}}}',
        "writer",
    ),
    "delete where surrogate": (
        "DELETE",
        "/collections/docs/items",
        '{"where": {"team": "\\ud800"}}',
        "writer",
    ),
    "delete where nul": (
        "DELETE",
        "/collections/docs/items",
        '{"where": {"id": "\\u0000"}}',
        "writer",
    ),
    "delete where deep": (
        "DELETE",
        "/collections/docs/items",
        f'{{"where": {nested("$or", 900, TEAM_ENG)}}}',
        "writer",
    ),
    "delete nul ids": (
        "DELETE",
        "/collections/docs/items",
        '{"ids": ["eng-vpn\\u0000"]}',
        "writer",
    ),
    "admin delete nul ids": ("DELETE", "/collections/docs/items", '{"ids": ["\\u0000"]}', "admin"),
}

# A 200 that matches nothing is a right answer too: facet fields are picked in Python (no such
# key exists), and the delete route looks up a writer's ids itself before `Collection.delete`
# (on PostgreSQL the store's session turns the NUL into a 422; never a 500 either way).
NOTHING_MATCHES = {"facets nul field", "delete nul ids"}


def reads(send: Send, keys: Keys) -> dict[str, object]:
    """What every reader sees: searches, item reads and facets (status and body)."""
    out: dict[str, object] = {}
    for who in ("alice", "bob", "admin"):
        key = getattr(keys, who)
        r = send(
            "POST", "/collections/docs/search", json.dumps({"text": "vpn outage", "k": 20}), key
        )
        assert r.status_code == 200, r.text
        out[f"{who} search"] = [(h["id"], round(h["score"], 4)) for h in r.json()["hits"]]
        r = send(
            "POST", "/collections/docs/search", '{"text": "vpn", "where": {"team": "eng"}}', key
        )
        assert r.status_code == 200, r.text
        out[f"{who} filtered"] = [h["id"] for h in r.json()["hits"]]
        r = send("GET", "/collections/docs/facets", None, key)
        assert r.status_code == 200, r.text
        out[f"{who} facets"] = r.json()
        for rec in CORPUS:
            r = send("GET", f"/collections/docs/items/{rec['id']}", None, key)
            assert r.status_code in (200, 404), r.text
            out[f"{who} item {rec['id']}"] = (r.status_code, r.json())
    return out


@pytest.fixture
def transport(index_path: Path, database: str | None) -> Iterator[tuple[Send, Keys]]:
    keys = build(index_path, database)
    if database is None:
        app = create_app(Settings(index=index_path, database=None, device="cpu", warm=False))
        with TestClient(app, raise_server_exceptions=False) as client:

            def send_tc(method: str, path: str, body: str | None, key: str) -> httpx.Response:
                headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                return client.request(method, path, content=body, headers=headers)

            yield send_tc, keys
        return
    with serve(index_path, database) as url, httpx.Client(base_url=url, timeout=60) as client:

        def send_http(method: str, path: str, body: str | None, key: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            return client.request(method, path, content=body, headers=headers)

        yield send_http, keys


def test_hostile_values_are_4xx_and_change_nothing(
    transport: tuple[Send, Keys], index_path: Path, database: str | None
) -> None:
    send, keys = transport
    with ls.connect(index_path, database=database, device="cpu") as db:
        before = store_state(db)
    seen = reads(send, keys)
    wrong = {}
    for name, (method, path, body, who) in CASES.items():
        r = send(method, path, body, getattr(keys, who))
        if name in NOTHING_MATCHES and r.status_code == 200:
            if r.json().get("facets", {}) or r.json().get("deleted", 0):
                wrong[name] = f"{r.status_code}: {r.text[:200]}"
        elif not 400 <= r.status_code < 500 or "error" not in r.json():
            wrong[name] = f"{r.status_code}: {r.text[:200]}"
    assert not wrong, wrong
    assert reads(send, keys) == seen
    with ls.connect(index_path, database=database, device="cpu") as db:
        assert store_state(db) == before
        assert db.collection("docs").verify()
