"""Over HTTP (the real app, in process) on SQLite and PostgreSQL: a writer key changes only items
it can see, a hidden item is answered like a missing one, and keyword scores do not depend on
hidden documents (issue 11, defects 2 and 7). `test_write_access.py` checks the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serverkit import SALES, Keys, build

from latentsearch.core.records import stable_id
from latentsearch.server import Settings, create_app
from latentsearch.store.models import content_hash

SECRET = "Sales commission plan: account executives earn twelve percent on renewals."


@pytest.fixture
def keys(index_path: Path, database: str | None) -> Keys:
    return build(index_path, database)


@pytest.fixture
def api(keys: Keys, index_path: Path, database: str | None):
    app = create_app(Settings(index=index_path, database=database, device="cpu"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def put(api: TestClient, key: str, *records: dict):
    return api.put("/collections/docs/items", json={"records": list(records)}, headers=h(key))


def post(api: TestClient, key: str, *records: dict):
    return api.post("/collections/docs/items", json={"records": list(records)}, headers=h(key))


def delete(api: TestClient, key: str, body: dict):
    return api.request("DELETE", "/collections/docs/items", json=body, headers=h(key))


def item(api: TestClient, key: str, id_: str) -> dict:
    r = api.get(f"/collections/docs/items/{id_}", headers=h(key))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_record_without_id_never_takes_over_a_hidden_item(api: TestClient, keys: Keys) -> None:
    shared = stable_id("text", content_hash("text", SECRET.encode()))
    owned = {"text": SECRET, "acl": [SALES], "metadata": {"team": "sales"}}
    assert put(api, keys.admin, owned).json()["ids"] == [shared]
    before = item(api, keys.bob, shared)
    first = put(api, keys.writer, {"text": SECRET, "acl": ["group:eng"]})
    assert first.status_code == 200 and first.json()["added"] == 1
    assert first.json()["ids"] != [shared]
    assert item(api, keys.bob, shared) == before  # the sales owners keep their item
    again = put(api, keys.writer, {"text": SECRET, "acl": ["group:eng"]})
    assert again.json() == {**first.json(), "added": 0, "unchanged": 1}  # idempotent
    # exactly as if the hidden item did not exist: same status and bytes once it is gone
    assert delete(api, keys.writer, {"ids": first.json()["ids"]}).json()["deleted"] == 1
    assert delete(api, keys.admin, {"ids": [shared]}).json()["deleted"] == 1
    alone = put(api, keys.writer, {"text": SECRET, "acl": ["group:eng"]})
    assert (alone.status_code, alone.content) == (first.status_code, first.content)


def test_a_hidden_id_is_answered_like_a_taken_id(api: TestClient, keys: Keys) -> None:
    mine = {"id": "sales-q3", "text": "mine now", "acl": ["group:eng"]}
    before = item(api, keys.bob, "sales-q3")
    hidden = [post(api, keys.writer, mine), put(api, keys.writer, mine)]
    assert item(api, keys.bob, "sales-q3") == before
    r = put(
        api,
        keys.admin,
        {
            "id": "sales-q3",
            "text": before["text"],
            "acl": [SALES, "group:eng"],
            "metadata": before["metadata"],
        },
    )
    assert r.status_code == 200
    visible = post(api, keys.writer, mine)  # visible, but add never replaces
    assert visible.status_code == 409
    for r in hidden:
        assert (r.status_code, r.content) == (visible.status_code, visible.content)
    assert b"sales" not in visible.content.replace(b"sales-q3", b"")


def test_deletes_skip_hidden_items_and_hidden_chunks(api: TestClient, keys: Keys) -> None:
    chunk = {"parent": "plan", "start": 0, "end": 10}
    put(
        api,
        keys.admin,
        {"id": "plan", "text": "Roadmap overview for everyone.", "acl": ["group:eng"]},
        {"id": "plan.0", "text": "Roadmap, part one.", "acl": ["group:eng"], "chunk": chunk},
        {"id": "plan.1", "text": "Roadmap, the sales part.", "acl": [SALES], "chunk": chunk},
    )
    hidden = delete(api, keys.writer, {"ids": ["sales-q3", "nope"]})
    unknown = delete(api, keys.writer, {"ids": ["nope"]})
    assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
    assert hidden.json()["deleted"] == 0
    r = delete(api, keys.writer, {"ids": ["plan"]})
    assert (r.json()["deleted"], r.json()["ids"]) == (2, ["plan"])
    assert item(api, keys.bob, "plan.1")["id"] == "plan.1"  # the hidden chunk stays
    r = delete(api, keys.writer, {"where": {"team": "sales"}})
    assert r.json()["deleted"] == 0
    assert item(api, keys.bob, "sales-q3")["id"] == "sales-q3"


def _probe(api: TestClient, keys: Keys) -> list:
    out = []
    for body in (
        {"text": "wireguard renewal", "mode": "keyword"},
        {"text": "wireguard renewal", "mode": "hybrid", "fusion": {"method": "weighted"}},
    ):
        r = api.post("/collections/docs/search", json=body, headers=h(keys.alice))
        assert r.status_code == 200, r.text
        out.append([(x["id"], x["score"], x.get("why")) for x in r.json()["hits"]])
    return out


def test_keyword_scores_do_not_reveal_hidden_words(api: TestClient, keys: Keys) -> None:
    alone = _probe(api, keys)
    assert alone[0] and {x[0] for x in alone[0]} <= {"eng-vpn", "eng-db"}
    with_word = {"id": "s-1", "text": "The wireguard renewal of the sales demo.", "acl": [SALES]}
    assert put(api, keys.admin, with_word).status_code == 200
    hidden_word = _probe(api, keys)
    without = {"id": "s-1", "text": "The printer refill of the sales demo.", "acl": [SALES]}
    assert put(api, keys.admin, without).status_code == 200
    assert hidden_word == _probe(api, keys) == alone
