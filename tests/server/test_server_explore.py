"""The explorer endpoints (map, project, clusters, axis, sample) in process, on SQLite and
PostgreSQL, with two keys that see different private items: each answer holds the caller's
visible items only, and a hidden item is answered exactly like a missing one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serverkit import CORPUS, ENG, ENG_SECRET, PRIVATE, SALES, SALES_SECRET, Keys, build

from latentsearch.server import Settings, create_app

PUBLIC = {r["id"] for r in CORPUS if r["acl"] == ["*"]}
VISIBLE = {"alice": PRIVATE[ENG] | PUBLIC, "bob": PRIVATE[SALES] | PUBLIC}
SECRET = {"alice": SALES_SECRET, "bob": ENG_SECRET}  # a word only the other side's items hold


@pytest.fixture
def site(index_path: Path, database: str | None):
    keys = build(index_path, database)
    app = create_app(Settings(index=index_path, database=database, device="cpu"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, keys


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def who(keys: Keys) -> list[tuple[str, str]]:
    return [("alice", keys.alice), ("bob", keys.bob)]


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_each_key_maps_exactly_its_visible_items(site, method: str) -> None:
    api, keys = site
    for user, key in who(keys):
        r = api.post("/collections/docs/map", json={"method": method, "seed": 3}, headers=h(key))
        assert r.status_code == 200, r.text
        m = r.json()
        ids = {p["id"] for p in m["points"]}
        assert ids == VISIBLE[user] and len(m["points"]) == len(VISIBLE[user])
        count = next(
            c["count"]
            for c in api.get("/collections", headers=h(key)).json()
            if c["name"] == "docs"
        )
        assert len(m["points"]) == count
        # UMAP needs a few more points than 5: what was fitted is said (PCA)
        assert (m["method"], m["seed"]) == ("pca", 3)
        # clusters, labels, sizes and snippets come from visible items only
        assert sum(c["size"] for c in m["clusters"]) == len(ids)
        assert all(c["medoid"] in ids for c in m["clusters"])
        assert SECRET[user] not in r.text.lower()
        assert {p["cluster"] for p in m["points"]} == {c["id"] for c in m["clusters"]}
        assert all(c["x"] is not None for c in m["clusters"])
        vpn = next(p for p in m["points"] if p["id"] == "pub-vpn-mac")
        assert vpn["snippet"].startswith("How to install the VPN client") and vpn["kind"] == "text"
        assert next(p for p in m["points"] if p["id"] == "handbook#1")["parent"] == "handbook"
    again = api.post(
        "/collections/docs/map", json={"method": method, "seed": 3}, headers=h(keys.bob)
    )
    assert again.json()["cached"] is True
    assert {p["id"]: (p["x"], p["y"]) for p in again.json()["points"]} == {
        p["id"]: (p["x"], p["y"]) for p in r.json()["points"]
    }


def test_the_admin_maps_on_behalf_of_a_user(site) -> None:
    api, keys = site
    body = {"method": "pca", "on_behalf_of": {"user": "bob", "groups": ["sales"]}}
    r = api.post("/collections/docs/map", json=body, headers=h(keys.admin))
    assert {p["id"] for p in r.json()["points"]} == VISIBLE["bob"]
    assert api.post("/collections/docs/map", json=body, headers=h(keys.alice)).status_code == 403


def test_a_where_filter_narrows_the_map(site) -> None:
    api, keys = site
    r = api.post(
        "/collections/docs/map",
        json={"method": "pca", "where": {"team": "hr"}},
        headers=h(keys.alice),
    )
    assert {p["id"] for p in r.json()["points"]} == {"pub-holidays", "handbook#1"}


def test_project_places_queries_and_expression_paths(site) -> None:
    api, keys = site
    body = {"queries": ["vpn outage", {"id": "eng-vpn"}], "method": "pca"}
    r = api.post("/collections/docs/project", json=body, headers=h(keys.alice))
    assert r.status_code == 200, r.text
    pts = r.json()["points"]
    assert [p["label"] for p in pts] == ["vpn outage", "@eng-vpn"]
    m = api.post("/collections/docs/map", json={"method": "pca"}, headers=h(keys.alice)).json()
    at = next(p for p in m["points"] if p["id"] == "eng-vpn")
    assert pts[1]["x"] == pytest.approx(at["x"], abs=1e-3) and pts[1]["y"] == pytest.approx(
        at["y"], abs=1e-3
    )
    expr = {"expression": '"vpn outage" - "windows" + @pub-vpn-mac', "method": "pca"}
    path = api.post("/collections/docs/project", json=expr, headers=h(keys.alice)).json()["points"]
    assert [p["label"] for p in path] == ["vpn outage", "−windows", "+@pub-vpn-mac"]


def test_a_hidden_item_is_answered_like_a_missing_one(site) -> None:
    api, keys = site
    for path, body in (
        ("project", lambda i: {"queries": [{"id": i}], "method": "pca"}),
        ("project", lambda i: {"expression": f"@{i} - windows", "method": "pca"}),
        ("axis", lambda i: {"negative": {"id": i}, "positive": "holidays"}),
        ("sample", lambda i: {"n": 2, "around": {"id": i}}),
    ):
        hidden = api.post(f"/collections/docs/{path}", json=body("eng-vpn"), headers=h(keys.bob))
        missing = api.post(f"/collections/docs/{path}", json=body("xyz-vpn"), headers=h(keys.bob))
        assert hidden.status_code == missing.status_code == 404, (path, hidden.text)
        assert hidden.json()["error"].replace("eng-vpn", "?") == missing.json()["error"].replace(
            "xyz-vpn", "?"
        )


def test_clusters_axis_and_sample_hold_visible_items_only(site) -> None:
    api, keys = site
    for user, key in who(keys):
        r = api.post("/collections/docs/clusters", json={"k": 2}, headers=h(key))
        assert r.status_code == 200, r.text
        found = r.json()["clusters"]
        assert sum(c["size"] for c in found) == len(VISIBLE[user])
        assert set().union(*(c["ids"] for c in found)) == VISIBLE[user]
        assert SECRET[user] not in r.text.lower()
        r = api.post(
            "/collections/docs/axis",
            json={"negative": "holidays", "positive": "vpn outage"},
            headers=h(key),
        )
        assert r.status_code == 200, r.text
        coords = [p["coord"] for p in r.json()["positions"]]
        assert {p["id"] for p in r.json()["positions"]} == VISIBLE[user] and coords == sorted(
            coords
        )
        r = api.post(
            "/collections/docs/sample",
            json={"n": 3, "around": "vpn outage", "seed": 1},
            headers=h(key),
        )
        assert r.status_code == 200, r.text
        drawn = [d["hit"]["id"] for d in r.json()["draws"]]
        assert drawn and set(drawn) <= VISIBLE[user] and len(set(drawn)) == len(drawn)
        assert all(d["distance"] >= 0 for d in r.json()["draws"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("map", {"method": "tsne"}, "method"),
        ("map", {"seed": -1}, "seed"),
        ("map", {"level": "page"}, "level"),
        ("map", {"colour": "team"}, "colour"),
        ("project", {}, "body"),
        ("project", {"queries": ["a"], "expression": "a"}, "body"),
        ("project", {"queries": []}, "queries"),
        ("clusters", {"k": 0}, "k"),
        ("axis", {"negative": "a"}, "positive"),
        ("sample", {"n": 0}, "n"),
        ("sample", {"n": 3, "spread": "inf"}, "spread"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(site, path: str, body: dict, field: str) -> None:
    api, keys = site
    r = api.post(f"/collections/docs/{path}", json=body, headers=h(keys.alice))
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith(f"{field}:")


def test_bad_input_gets_a_clear_answer(site) -> None:
    api, keys = site
    r = api.post("/collections/docs/sample", json={"n": 3, "spread": 0}, headers=h(keys.alice))
    assert r.status_code == 422 and "spread" in r.json()["error"]
    r = api.post(
        "/collections/docs/axis", json={"negative": "vpn", "positive": "vpn"}, headers=h(keys.alice)
    )
    assert r.status_code == 422, r.text
    r = api.post("/collections/docs/clusters", json={"k": 999}, headers=h(keys.alice))
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert sum(c["size"] for c in r.json()["clusters"]) == len(VISIBLE["alice"])
    r = api.post("/collections/docs/project", json={"expression": '"vpn" -'}, headers=h(keys.alice))
    assert r.status_code == 422 and "column" in r.json()["error"]
    assert api.post("/collections/nope/map", json={}, headers=h(keys.alice)).status_code == 404
    assert api.post("/collections/docs/map", json={}).status_code == 401
    assert api.post("/collections/docs/map", json={}, headers=h(keys.revoked)).status_code == 401


def test_empty_single_and_raw_vector_collections(index_path: Path, database: str | None) -> None:
    import numpy as np

    import latentsearch as ls

    keys = build(index_path, database)
    with ls.connect(index_path, database=database, device="cpu") as db:
        db.create_collection("empty", encoder="text")
        db.create_collection("one", encoder="text").add([{"id": "solo", "text": "a lone note"}])
        vecs = db.create_collection("vecs", dim=4)
        rng = np.random.default_rng(0)
        vecs.add([{"id": f"v{i}", "vector": rng.normal(size=4).tolist()} for i in range(12)])
    app = create_app(Settings(index=index_path, database=database, device="cpu"))
    with TestClient(app, raise_server_exceptions=False) as api:
        auth = h(keys.alice)
        r = api.post("/collections/empty/map", json={}, headers=auth)
        assert r.status_code in (200, 422), r.text
        if r.status_code == 200:
            assert r.json()["points"] == [] and r.json()["clusters"] == []
        r = api.post("/collections/one/map", json={}, headers=auth)
        assert r.status_code == 200, r.text
        assert [p["id"] for p in r.json()["points"]] == ["solo"]
        r = api.post("/collections/one/clusters", json={"k": 5}, headers=auth)
        assert r.status_code in (200, 422), r.text
        r = api.post("/collections/vecs/map", json={"method": "umap"}, headers=auth)
        assert r.status_code == 200, r.text
        m = r.json()
        assert len(m["points"]) == 12 and all(
            p["snippet"] is None and p["title"] is None for p in m["points"]
        )
        assert all(c["label"] for c in m["clusters"])  # no texts: labelled by their medoids
        r = api.post("/collections/vecs/project", json={"queries": [{"id": "v3"}]}, headers=auth)
        assert r.status_code == 200, r.text
        r = api.post("/collections/vecs/project", json={"queries": ["some text"]}, headers=auth)
        assert r.status_code == 422, r.text  # no encoder: a typed error, not a crash
