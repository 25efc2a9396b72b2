"""End to end against a real `latentsearch serve` process: SQLite (1 worker) and PostgreSQL (2 workers).

Two reader keys whose groups differ (alice: eng, bob: sales) must never see each other's private
documents through any endpoint, and a denied item must look exactly like a missing one.
"""

from __future__ import annotations

import base64
import io
import uuid
from contextlib import ExitStack

import httpx
import pytest
from pgkit import pg_schema
from serverkit import (
    CORPUS,
    ENG,
    ENG_SECRET,
    PRIVATE,
    SALES,
    SALES_SECRET,
    build,
    serve,
)

pytestmark = pytest.mark.slow
EVERY_MODE = ("dense", "keyword", "hybrid")
EVERYONE = {r["id"] for r in CORPUS if r["acl"] == ["*"]}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(request, tmp_path_factory, quick_clip_path):
    index = tmp_path_factory.mktemp("e2e") / "index"
    index.mkdir()
    with ExitStack() as stack:
        database, workers = None, 1
        if request.param == "postgres":
            database = stack.enter_context(pg_schema(request.getfixturevalue("pg_admin")))
            workers = 2
        keys = build(index, database, images=quick_clip_path)
        with (
            serve(index, database, workers=workers) as url,
            httpx.Client(base_url=url, timeout=60) as client,
        ):
            yield client, keys


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ids(resp: httpx.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {hit["id"] for hit in resp.json()["hits"]}


def allowed(group: str) -> set[str]:
    return PRIVATE[group] | EVERYONE


def test_health_needs_no_key_and_everything_else_does(server) -> None:
    client, keys = server
    assert client.get("/health").json()["status"] == "ok"
    calls = [
        ("GET", "/collections", None),
        ("GET", "/me", None),
        ("GET", "/metrics", None),
        ("POST", "/collections/docs/search", {"text": "vpn"}),
        ("POST", "/collections/docs/query", {"expr": '"vpn"'}),
        ("POST", "/collections/docs/analogy", {"positive": ["vpn"]}),
        ("GET", "/collections/docs/items/eng-vpn", None),
        ("GET", "/collections/docs/facets", None),
        ("GET", "/collections/photos/images/red-circle", None),
        ("POST", "/collections/docs/items", {"records": [{"text": "x"}]}),
        ("PUT", "/collections/docs/items", {"records": [{"text": "x"}]}),
        ("DELETE", "/collections/docs/items", {"ids": ["eng-vpn"]}),
    ]
    for bad in (None, "ls_nope_nope", keys.revoked, "Basic abc"):
        headers = (
            {} if bad is None else ({"Authorization": bad} if bad.startswith("Basic") else h(bad))
        )
        for method, path, body in calls:
            r = client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, bad, r.text)
            assert "error" in r.json()


@pytest.mark.parametrize("mode", EVERY_MODE)
def test_search_never_leaks(server, mode: str) -> None:
    client, keys = server
    for key, group, other_secret in (
        (keys.alice, ENG, SALES_SECRET),
        (keys.bob, SALES, ENG_SECRET),
    ):
        for q in (
            "vpn outage",
            ENG_SECRET + " gateway",
            SALES_SECRET + " renewal",
            "failover replica",
            "pipeline",
        ):
            r = client.post(
                "/collections/docs/search", json={"text": q, "k": 50, "mode": mode}, headers=h(key)
            )
            got = ids(r)
            assert got <= allowed(group), (mode, q, got)
            assert other_secret not in r.text.lower()
    # ...and each does find its own private documents.
    assert "eng-vpn" in ids(
        client.post(
            "/collections/docs/search",
            json={"text": "wireguard gateway", "mode": mode},
            headers=h(keys.alice),
        )
    )
    assert "sales-q3" in ids(
        client.post(
            "/collections/docs/search",
            json={"text": "acmecorp renewal", "mode": mode},
            headers=h(keys.bob),
        )
    )


def test_query_analogy_and_search_by_id_never_leak(server) -> None:
    client, keys = server
    for key, group in ((keys.alice, ENG), (keys.bob, SALES)):
        for expr in (
            '"vpn outage" - "windows"',
            '"wireguard gateway" + "acmecorp renewal"',
            '"database" - "holiday"',
        ):
            assert ids(
                client.post("/collections/docs/query", json={"expr": expr, "k": 50}, headers=h(key))
            ) <= allowed(group)
        r = client.post(
            "/collections/docs/analogy",
            json={"positive": ["acmecorp renewal", "wireguard"], "negative": ["holiday"], "k": 50},
            headers=h(key),
        )
        assert ids(r) <= allowed(group)
    # An item reference to a document the caller cannot see answers like a missing item.
    for key, hidden in ((keys.alice, "sales-q3"), (keys.bob, "eng-vpn")):
        denied = client.post("/collections/docs/search", json={"id": hidden}, headers=h(key))
        missing = client.post(
            "/collections/docs/search", json={"id": "no-such-doc"}, headers=h(key)
        )
        assert denied.status_code == missing.status_code == 404
        assert denied.json()["error"].replace(hidden, "X") == missing.json()["error"].replace(
            "no-such-doc", "X"
        )
        q_denied = client.post(
            "/collections/docs/query", json={"expr": f"@{hidden}"}, headers=h(key)
        )
        q_missing = client.post(
            "/collections/docs/query", json={"expr": "@no-such-doc"}, headers=h(key)
        )
        assert q_denied.status_code == q_missing.status_code
        assert q_denied.json()["error"].replace(hidden, "X") == q_missing.json()["error"].replace(
            "no-such-doc", "X"
        )
        a_denied = client.post(
            "/collections/docs/analogy", json={"positive": [{"id": hidden}]}, headers=h(key)
        )
        a_missing = client.post(
            "/collections/docs/analogy", json={"positive": [{"id": "no-such-doc"}]}, headers=h(key)
        )
        assert a_denied.status_code == a_missing.status_code
        assert a_denied.json()["error"].replace(hidden, "X") == a_missing.json()["error"].replace(
            "no-such-doc", "X"
        )


def test_get_item_image_facets_and_collections_never_leak(server) -> None:
    client, keys = server
    for key, mine, theirs, image_mine, image_theirs in (
        (keys.alice, "eng-vpn", "sales-q3", "red-circle", "blue-square"),
        (keys.bob, "sales-q3", "eng-vpn", "blue-square", "red-circle"),
    ):
        assert client.get(f"/collections/docs/items/{mine}", headers=h(key)).json()["id"] == mine
        denied = client.get(f"/collections/docs/items/{theirs}", headers=h(key))
        missing = client.get("/collections/docs/items/nothing-here", headers=h(key))
        assert denied.status_code == missing.status_code == 404
        assert denied.json()["error"].replace(theirs, "X") == missing.json()["error"].replace(
            "nothing-here", "X"
        )
        img = client.get(f"/collections/photos/images/{image_mine}", headers=h(key))
        assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
        assert (
            client.get(f"/collections/photos/images/{image_theirs}", headers=h(key)).status_code
            == 404
        )
        facets = client.get("/collections/docs/facets", headers=h(key)).json()["facets"]
        teams = {v["value"] for v in facets["team"]}
        assert teams == ({"eng", "hr", "it"} if key == keys.alice else {"sales", "hr", "it"})
        counts = {c["name"]: c["count"] for c in client.get("/collections", headers=h(key)).json()}
        assert counts == {"docs": len(EVERYONE) + 2, "photos": 2}
    photos = client.post(
        "/collections/photos/search", json={"text": "a blue square", "k": 10}, headers=h(keys.alice)
    )
    assert ids(photos) == {"red-circle", "green-triangle"}


def test_roles_and_writes_respect_acls(server) -> None:
    client, keys = server
    rec = {
        "id": "w-1",
        "text": "Kubernetes upgrade checklist for the eng cluster.",
        "acl": [ENG],
        "metadata": {"team": "eng"},
    }
    assert (
        client.post(
            "/collections/docs/items", json={"records": [rec]}, headers=h(keys.alice)
        ).status_code
        == 403
    )
    r = client.post("/collections/docs/items", json={"records": [rec]}, headers=h(keys.writer))
    assert r.status_code == 201 and r.json()["added"] == 1
    assert (
        client.post(
            "/collections/docs/items", json={"records": [rec]}, headers=h(keys.writer)
        ).status_code
        == 409
    )
    # The eng writer may not overwrite or delete what it cannot see: a hidden id is "taken" (409).
    hijack = {"id": "sales-q3", "text": "mine now", "acl": [ENG]}
    assert (
        client.put(
            "/collections/docs/items", json={"records": [hijack]}, headers=h(keys.writer)
        ).status_code
        == 409
    )
    r = client.request(
        "DELETE",
        "/collections/docs/items",
        json={"ids": ["sales-q3", "w-1"]},
        headers=h(keys.writer),
    )
    assert r.json() == {"added": 0, "updated": 0, "unchanged": 0, "deleted": 1, "ids": ["w-1"]}
    assert client.get("/collections/docs/items/sales-q3", headers=h(keys.bob)).status_code == 200
    r = client.request(
        "DELETE",
        "/collections/docs/items",
        json={"where": {"team": "sales"}},
        headers=h(keys.writer),
    )
    assert r.json()["deleted"] == 0
    assert (
        client.request(
            "DELETE", "/collections/docs/items", json={"ids": ["x"]}, headers=h(keys.bob)
        ).status_code
        == 403
    )


def test_only_admin_acts_on_behalf_of_others(server) -> None:
    client, keys = server
    body = {
        "text": "acmecorp renewal",
        "k": 20,
        "mode": "hybrid",
        "on_behalf_of": {"user": "bob", "groups": ["sales"]},
    }
    assert (
        client.post("/collections/docs/search", json=body, headers=h(keys.alice)).status_code == 403
    )
    got = ids(client.post("/collections/docs/search", json=body, headers=h(keys.admin)))
    assert "sales-q3" in got and got <= allowed(SALES)
    assert (
        ids(
            client.post(
                "/collections/docs/search",
                json={"text": "acmecorp renewal", "k": 20},
                headers=h(keys.admin),
            )
        )
        <= EVERYONE
    )


def test_acknowledged_writes_are_read_at_once_by_every_worker(server) -> None:
    client, keys = server
    word = f"zq{uuid.uuid4().hex[:8]}"
    rec = {"id": f"fresh-{word}", "text": f"Incident {word}: the build farm is down.", "acl": [ENG]}
    assert (
        client.put(
            "/collections/docs/items", json={"records": [rec]}, headers=h(keys.writer)
        ).status_code
        == 200
    )
    for i in range(12):  # new connections land on either worker
        with httpx.Client(base_url=str(client.base_url), timeout=30) as fresh:
            mode = EVERY_MODE[i % 3]
            assert rec["id"] in ids(
                fresh.post(
                    "/collections/docs/search",
                    json={"text": f"{word} build farm", "mode": mode},
                    headers=h(keys.alice),
                )
            )
            assert (
                fresh.get(f"/collections/docs/items/{rec['id']}", headers=h(keys.bob)).status_code
                == 404
            )
    client.request(
        "DELETE", "/collections/docs/items", json={"ids": [rec["id"]]}, headers=h(keys.writer)
    )
    for i in range(6):
        with httpx.Client(base_url=str(client.base_url), timeout=30) as fresh:
            assert rec["id"] not in ids(
                fresh.post(
                    "/collections/docs/search",
                    json={"text": f"{word} build farm", "mode": EVERY_MODE[i % 3]},
                    headers=h(keys.alice),
                )
            )


def test_citations_and_validation(server) -> None:
    client, keys = server
    r = client.post(
        "/collections/docs/search",
        json={"text": "expenses receipts", "mode": "keyword"},
        headers=h(keys.bob),
    )
    hit = r.json()["hits"][0]
    c = hit["citation"]
    assert (hit["id"], c["doc_id"], c["title"]) == ("handbook#1", "handbook", "Employee handbook")
    assert c["start"] == 120 and c["end"] == 120 + len(c["snippet"])
    assert [c["snippet"][s["start"] : s["end"]] for s in c["highlights"]] == [
        "Expenses",
        "receipts",
    ]
    bad = client.post(
        "/collections/docs/search", json={"text": "x", "k": 100000}, headers=h(keys.bob)
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith("k:")
    assert (
        client.post("/collections/nope/search", json={"text": "x"}, headers=h(keys.bob)).status_code
        == 404
    )
    pic = io.BytesIO()
    from latentsearch.testing.tinyclip import shape_image

    shape_image("green", "triangle").save(pic, format="PNG")
    r = client.post(
        "/collections/photos/search",
        json={"image": base64.b64encode(pic.getvalue()).decode(), "k": 1},
        headers=h(keys.bob),
    )
    assert ids(r) == {"green-triangle"}


def test_metrics_are_prometheus_text(server) -> None:
    client, keys = server
    client.post(
        "/collections/docs/search", json={"text": "vpn", "mode": "keyword"}, headers=h(keys.alice)
    )
    r = client.get("/metrics", headers=h(keys.alice))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'latentsearch_searches_total{endpoint="search",mode="keyword"}' in r.text
    assert "latentsearch_http_request_duration_seconds_bucket" in r.text
    assert ENG_SECRET not in r.text and SALES_SECRET not in r.text
