"""A collection dropped and re-created by another process is served afresh: the server's stale
handle is reopened (`Database.reopen`), never answered from the old index."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from serverkit import build

import latentsearch as ls
from latentsearch.server import Settings, create_app


def test_a_recreated_collection_is_served_afresh(index_path: Path, database: str | None) -> None:
    keys = build(index_path, database)
    auth = {"Authorization": f"Bearer {keys.admin}"}
    app = create_app(Settings(index=index_path, database=database, device="cpu", warm=False))
    with TestClient(app) as api:
        before = api.post("/collections/docs/search", json={"text": "vpn", "k": 3}, headers=auth)
        assert before.status_code == 200 and before.json()["hits"]
        with ls.connect(index_path, database=database, device="cpu") as other:
            # A newer collection first, so that SQLite cannot give the re-created one the dropped
            # one's id (ls_collections has no AUTOINCREMENT there: a known, separate defect).
            other.create_collection("spare", dim=4)
            other.drop_collection("docs")
            docs = other.create_collection("docs", encoder="text")
            docs.add([{"id": "fresh", "text": "The cafeteria serves soup on Fridays."}])
        r = api.post("/collections/docs/search", json={"text": "soup", "k": 3}, headers=auth)
        assert r.status_code == 200, r.text
        assert [h["id"] for h in r.json()["hits"]] == ["fresh"]
        gone = before.json()["hits"][0]["id"]
        assert api.get(f"/collections/docs/items/{gone}", headers=auth).status_code == 404
        listed = api.get("/collections", headers=auth).json()
        assert [(c["name"], c["count"]) for c in listed] == [("docs", 1), ("spare", 0)]
