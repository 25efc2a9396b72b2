"""The HTTP API in process (FastAPI TestClient) on SQLite and PostgreSQL: validation, limits,
roles, errors, CORS, the page and the OpenAPI schema. `test_server_e2e.py` runs a real server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serverkit import Keys, build

from latentsearch.server import Settings, create_app


@pytest.fixture
def keys(index_path: Path, database: str | None) -> Keys:
    return build(index_path, database)


def client_for(index_path: Path, database: str | None, **settings) -> TestClient:
    app = create_app(Settings(index=index_path, database=database, device="cpu", **settings))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def api(keys: Keys, index_path: Path, database: str | None):
    with client_for(index_path, database) as c:
        yield c


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "vpn", "k": 0}, "k"),
        ({"text": "vpn", "k": 5000}, "k"),
        ({"text": "vpn", "mode": "sparse"}, "mode"),
        ({"text": "vpn", "colour": 1}, "colour"),
        ({"text": "vpn", "mmr": 2}, "mmr"),
        ({"text": "vpn", "fusion": {"rrf_k": 0}}, "fusion.rrf_k"),
        ({"text": "vpn", "vector": [1.0]}, "body"),
        ({}, "body"),
        ({"text": ""}, "text"),
    ],
)
def test_invalid_search_bodies_are_422_naming_the_field(
    api: TestClient, keys: Keys, body: dict, field: str
) -> None:
    r = api.post("/collections/docs/search", json=body, headers=h(keys.alice))
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith(f"{field}:")
    assert r.json()["detail"][0]["field"] == field


def test_typed_errors_from_the_library_become_422_404_409(api: TestClient, keys: Keys) -> None:
    r = api.post("/collections/docs/query", json={"expr": '"vpn" - '}, headers=h(keys.alice))
    assert r.status_code == 422 and "column" in r.json()["error"]
    r = api.post("/collections/docs/query", json={"expr": "x" * 2001}, headers=h(keys.alice))
    assert r.status_code == 422 and r.json()["error"].startswith("expr:")
    r = api.post(
        "/collections/docs/search",
        json={"text": "vpn", "where": {"team": {"$regex": "e"}}},
        headers=h(keys.alice),
    )
    assert r.status_code == 422 and "$regex" in r.json()["error"]
    r = api.post("/collections/docs/search", json={"image": "not base64!"}, headers=h(keys.alice))
    assert r.status_code == 422 and r.json()["error"].startswith("image:")
    r = api.post("/collections/docs/search", json={"vector": [0.5] * 3}, headers=h(keys.alice))
    assert r.status_code == 422
    assert api.get("/collections/nope/facets", headers=h(keys.alice)).status_code == 404
    rec = {"records": [{"id": "n1", "text": "new"}]}
    assert api.post("/collections/docs/items", json=rec, headers=h(keys.writer)).status_code == 201
    assert api.post("/collections/docs/items", json=rec, headers=h(keys.writer)).status_code == 409
    r = api.put(
        "/collections/docs/items",
        json={"records": [{"id": "n2", "text": "x", "image": "aGk="}]},
        headers=h(keys.writer),
    )
    assert r.status_code == 422 and r.json()["error"].startswith("records.0:")


def test_roles(api: TestClient, keys: Keys) -> None:
    rec = {"records": [{"id": "r1", "text": "hello", "acl": ["group:eng"]}]}
    assert api.put("/collections/docs/items", json=rec, headers=h(keys.alice)).status_code == 403
    assert api.put("/collections/docs/items", json=rec, headers=h(keys.writer)).status_code == 200
    assert (
        api.put("/collections/docs/items", json=rec, headers=h(keys.admin)).json()["unchanged"] == 1
    )
    me = api.get("/me", headers=h(keys.writer)).json()
    assert (me["user"], me["groups"], me["role"]) == ("wendy", ["eng"], "writer")
    behalf = {"text": "vpn", "on_behalf_of": {"user": "bob", "groups": ["sales"]}}
    r = api.post("/collections/docs/search", json=behalf, headers=h(keys.writer))
    assert r.status_code == 403 and "admin" in r.json()["error"]
    assert (
        api.post("/collections/docs/search", json=behalf, headers=h(keys.admin)).status_code == 200
    )
    # an admin deletes what it names, whoever may see it
    r = api.request(
        "DELETE", "/collections/docs/items", json={"ids": ["sales-q3"]}, headers=h(keys.admin)
    )
    assert r.json()["deleted"] == 1


def test_body_size_is_limited(keys: Keys, index_path: Path, database: str | None) -> None:
    with client_for(index_path, database, max_body_bytes=4096, warm=False) as c:
        big = {"records": [{"id": "big", "text": "word " * 2000}]}
        r = c.put("/collections/docs/items", json=big, headers=h(keys.writer))
        assert r.status_code == 413 and "too large" in r.json()["error"]
        chunked = c.put(
            "/collections/docs/items",
            content=iter([b'{"records": [', b" " * 5000, b"]}"]),
            headers={**h(keys.writer), "Content-Type": "application/json"},
        )
        assert chunked.status_code == 413
        assert c.get("/collections/docs/items/big", headers=h(keys.admin)).status_code == 404


def test_no_stack_trace_reaches_a_client(
    keys: Keys, index_path: Path, database: str | None
) -> None:
    app = create_app(Settings(index=index_path, database=database, device="cpu", warm=False))

    @app.get("/explode")
    def explode() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 3")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/explode")
        assert r.status_code == 500
        assert "internal error" in r.json()["error"]
        assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text


def test_cors_is_off_by_default_and_configurable(
    keys: Keys, index_path: Path, database: str | None
) -> None:
    origin = {"Origin": "https://intranet.example"}
    with client_for(index_path, database, warm=False) as c:
        r = c.get("/collections", headers={**h(keys.alice), **origin})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        pre = c.options("/collections", headers={**origin, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in pre.headers
    with client_for(
        index_path, database, warm=False, cors_origins=("https://intranet.example",)
    ) as c:
        r = c.get("/collections", headers={**h(keys.alice), **origin})
        assert r.headers["access-control-allow-origin"] == "https://intranet.example"
        other = c.get("/collections", headers={**h(keys.alice), "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_page_docs_and_schema_are_served(api: TestClient) -> None:
    page = api.get("/")
    assert page.status_code == 200 and "<title>latentsearch</title>" in page.text
    assert api.get("/static/app.js").status_code == 200
    assert api.get("/docs").status_code == 200
    schema = api.get("/openapi.json").json()
    assert {
        "/health",
        "/collections",
        "/collections/{name}/search",
        "/collections/{name}/query",
        "/collections/{name}/analogy",
        "/collections/{name}/items/{item_id}",
        "/collections/{name}/items",
        "/metrics",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/collections/{name}/items"]) == {"post", "put", "delete"}


def test_search_response_carries_citations(api: TestClient, keys: Keys) -> None:
    r = api.post(
        "/collections/docs/search",
        json={"text": "vpn outage", "mode": "hybrid", "k": 3},
        headers=h(keys.bob),
    )
    hits = r.json()["hits"]
    assert hits[0]["id"] == "sales-vpn"
    c = hits[0]["citation"]
    assert c["uri"] == "https://tickets.example/481" and c["title"].startswith("Ticket 481")
    assert [c["snippet"][s["start"] : s["end"]] for s in c["highlights"]] == ["VPN", "outage"]
    assert set(hits[0]["why"]) == {"dense", "keyword"}
    assert base64  # image searches are covered end to end
