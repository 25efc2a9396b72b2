"""Permissions in the explorer (SQLite and PostgreSQL): a caller never receives a coordinate, a
label, a cluster size or a sample of an item it cannot see, and labels come from visible texts.
(tests/security/test_leak_explore.py checks the same as a property against visible-only twins.)"""

from __future__ import annotations

import pytest
from explorekit import ticket_records, tickets

import latentsearch as ls
from latentsearch.errors import ItemNotFoundError

SECRET = {
    "id": "SECRET-1",
    "text": "Zanzibar zanzibar merger codename zanzibar: the zanzibar acquisition closes Friday.",
    "title": "Zanzibar",
    "acl": ["group:board"],
}
CALLERS = (["group:eng"], ["user:alice", "group:finance"], ["group:support"])


@pytest.fixture
def tix(db: ls.Database) -> ls.Collection:
    col = tickets(db)
    col.add([SECRET])
    return col


def visible(caller: list[str] | None) -> set[str]:
    recs = [*ticket_records(), SECRET]
    return {
        r["id"] for r in recs if caller is None or "*" in r["acl"] or set(r["acl"]) & set(caller)
    }


def words_of(ids: set[str]) -> str:
    recs = [*ticket_records(), SECRET]
    return " ".join(f"{r['title']} {r['text']}".lower() for r in recs if r["id"] in ids)


@pytest.mark.parametrize("caller", CALLERS)
def test_a_caller_gets_only_what_it_sees(tix: ls.Collection, caller: list[str]) -> None:
    seen = visible(caller)
    m = tix.map(method="pca", principals=caller)
    assert {p.id for p in m.points} == seen and m.fitted_on == len(seen)
    assert {i for c in m.clusters for i in c.ids} == seen
    assert sum(c.size for c in m.clusters) == len(seen)
    for c in [*m.clusters, *tix.clusters(2, principals=caller)]:
        assert c.medoid in seen and set(c.ids) <= seen
        assert all(t in words_of(seen) for t in c.terms)  # labels from visible texts only
        assert "zanzibar" not in c.label
    assert {p.id for p in tix.axis("vpn", "refund", principals=caller)} == seen
    everything = tix.sample(20, principals=caller, seed=0)
    assert {d.hit.id for d in everything} == seen  # all of them, once each, and nothing else
    near = tix.sample(3, around="zanzibar merger", principals=caller, seed=0)
    assert {d.hit.id for d in near} <= seen


def test_the_hidden_item_is_seen_by_its_readers(tix: ls.Collection) -> None:
    """The check above can fail: a caller who sees the secret gets it everywhere."""
    board = ["group:board"]
    assert [p.id for p in tix.map(method="pca", principals=board).points] == [
        "SECRET-1",
        "TICKET-110",
    ]
    labels = [t for c in tix.clusters(principals=None) for t in c.terms]
    assert "zanzibar" in labels
    assert {d.hit.id for d in tix.sample(20, seed=0)} == visible(None)


def test_a_hidden_item_is_answered_like_a_missing_one(tix: ls.Collection) -> None:
    def message(ref: str) -> str:
        with pytest.raises(ItemNotFoundError) as e:
            tix.project({"id": ref}, method="pca", principals=["group:eng"])
        return str(e.value).replace(ref, "X")

    assert message("SECRET-1") == message("NO-SUCH-ITEM")
    with pytest.raises(ItemNotFoundError):
        tix.axis({"id": "SECRET-1"}, "vpn", principals=["group:eng"])
    with pytest.raises(ItemNotFoundError):
        tix.sample(2, around={"id": "SECRET-1"}, principals=["group:eng"])


def test_projections_are_fitted_on_what_the_caller_sees(tix: ls.Collection) -> None:
    """Adding or removing items another caller cannot see leaves that caller's map unchanged."""
    eng = ["group:eng"]
    before = tix.map(method="pca", seed=7, principals=eng)
    tix.delete(["SECRET-1"])
    tix.add([{**SECRET, "id": "SECRET-2"}])
    after = tix.map(method="pca", seed=7, principals=eng)
    assert [(p.id, p.x, p.y) for p in after.points] == [(p.id, p.x, p.y) for p in before.points]
    assert [c.ids for c in after.clusters] == [c.ids for c in before.clusters]


def test_a_map_does_not_change_when_only_hidden_items_do(tix: ls.Collection) -> None:
    """``LatentMap.version`` counts what the caller sees: writes to hidden items leave it (and the
    answer) exactly as it was, while a visible write changes it."""
    caller = ["group:eng"]
    before = tix.map(method="pca", principals=caller)
    tix.upsert([{**SECRET, "text": SECRET["text"] + " It moved to Monday."}])
    tix.add([{**SECRET, "id": "SECRET-2"}])
    after = tix.map(method="pca", principals=caller)
    assert after.version == before.version and after.points == before.points
    board = tix.map(method="pca", principals=["group:board"])
    tix.add([{**SECRET, "id": "SECRET-3"}])
    assert tix.map(method="pca", principals=["group:board"]).version != board.version
