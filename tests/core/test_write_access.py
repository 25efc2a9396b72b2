"""A writer changes only items it can see, and learns nothing about the others (issue 11,
defects 2 and 7), through the Python API on SQLite and PostgreSQL: ``principals=`` on
`add`, `upsert` and `delete`, and keyword (BM25) scores that do not depend on hidden items.
`test_server_writes.py` checks the same over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import latentsearch as ls
from latentsearch.core.records import scoped_id, stable_id
from latentsearch.errors import DuplicateIdError
from latentsearch.query import hybrid
from latentsearch.store import items as sql
from latentsearch.store.models import ItemRow, content_hash

ENG = ["user:wendy", "group:eng"]  # the writer
HR = "group:hr"  # owns what the writer cannot see
SECRET = "Salary bands for 2027: engineers get a nine percent raise."


def state(col: ls.Collection) -> list[tuple]:
    """Every row of the collection as the store holds it: id, content, metadata, parent, ACL."""
    with col._space.store.session() as s:
        rows = list(s.scalars(select(ItemRow).where(ItemRow.collection_id == col.id)))
        acls = sql.principals_of(s, [r.id for r in rows])
        return sorted(
            (r.external_id, r.text, r.content_hash, r.meta, r.parent_id, tuple(acls[r.id]))
            for r in rows
        )


@pytest.fixture
def col(db: ls.Database) -> ls.Collection:
    return db.create_collection("docs", encoder="text")


def test_a_derived_id_never_lands_on_a_hidden_item(db: ls.Database, col: ls.Collection) -> None:
    shared = stable_id("text", content_hash("text", SECRET.encode()))
    col.add([{"text": SECRET, "acl": [HR], "metadata": {"owner": "hr"}}])  # the library: shared id
    hidden = state(col)
    assert [r[0] for r in hidden] == [shared]

    mine = col.upsert([{"text": SECRET, "acl": ["group:eng"]}], principals=ENG)
    assert (mine.added, mine.updated, mine.unchanged) == (1, 0, 0)
    assert mine.ids == (scoped_id("text", content_hash("text", SECRET.encode()), ENG),)
    assert [r for r in state(col) if r[0] == shared] == hidden  # the owners keep their item
    # exactly as if the hidden item did not exist: the same answer in a collection without it
    clean = db.create_collection("clean", encoder="text")
    assert clean.upsert([{"text": SECRET, "acl": ["group:eng"]}], principals=ENG) == mine
    # and idempotent for the writer
    again = col.upsert([{"text": SECRET, "acl": ["group:eng"]}], principals=ENG)
    assert (again.added, again.updated, again.unchanged, again.ids) == (0, 0, 1, mine.ids)
    assert col.add([{"text": SECRET}], principals=["group:sales"]).added == 1
    assert len(col) == 3


def test_a_derived_id_reuses_a_shared_item_the_writer_can_see(col: ls.Collection) -> None:
    col.add([{"text": "Public holiday calendar", "acl": ["*"]}])
    before = state(col)
    res = col.upsert([{"text": "Public holiday calendar", "acl": ["*"]}], principals=ENG)
    assert (res.unchanged, res.ids) == (1, (before[0][0],)) and state(col) == before


def test_an_explicit_hidden_id_reads_exactly_like_a_taken_id(col: ls.Collection) -> None:
    col.add([{"id": "x", "text": SECRET, "acl": [HR]}])
    before = state(col)
    errors = []
    for write in (col.add, col.upsert):
        with pytest.raises(DuplicateIdError) as exc:
            write([{"id": "x", "text": "mine now", "acl": ["group:eng"]}], principals=ENG)
        errors.append(str(exc.value))
    assert state(col) == before  # nothing changed
    col.upsert([{"id": "x", "text": SECRET, "acl": [HR, "group:eng"]}])  # now visible to the writer
    with pytest.raises(DuplicateIdError) as exc:
        col.add([{"id": "x", "text": "mine now", "acl": ["group:eng"]}], principals=ENG)
    assert errors == [str(exc.value)] * 2  # hidden (add, upsert) == visible but not writable (add)
    assert "HR" not in errors[0] and "hr" not in errors[0] and "alary" not in errors[0]
    assert col.upsert([{"id": "x", "text": "mine now"}], principals=ENG).updated == 1


def test_deletes_touch_only_visible_items_and_chunks(col: ls.Collection) -> None:
    chunk = {"parent": "plan", "start": 0, "end": 5}
    col.add(
        [
            {"id": "pub", "text": "Holiday calendar", "acl": ["*"], "metadata": {"team": "hr"}},
            {"id": "hr-1", "text": SECRET, "acl": [HR], "metadata": {"team": "hr"}},
            {"id": "plan", "text": "Roadmap overview", "acl": ["group:eng"]},
            {"id": "plan#0", "text": "Roadmap part one", "acl": ["group:eng"], "chunk": chunk},
            {"id": "plan#1", "text": "Roadmap secret part", "acl": [HR], "chunk": chunk},
            {"id": "h", "text": "Hidden parent document", "acl": [HR]},
            {
                "id": "h#0",
                "text": "Hidden parent, hidden chunk",
                "acl": [HR],
                "chunk": dict(chunk, parent="h"),
            },
        ]
    )
    # a hidden id is ignored exactly like an unknown one
    assert col.delete(["hr-1", "nope"], principals=ENG) == col.delete(["nope"], principals=ENG)
    assert col.delete(["hr-1"], principals=ENG) == ls.WriteResult()
    # a visible document goes with its visible chunks only
    res = col.delete(["plan"], principals=ENG)
    assert (res.deleted, res.ids) == (2, ("plan",))
    assert {r[0] for r in state(col)} == {"pub", "hr-1", "plan#1", "h", "h#0"}
    # chunks written under a hidden parent: the parent is untouched, and deleting the parent's id
    # deletes the writer's visible chunks only, as if the parent did not exist
    col.add(
        [
            {
                "id": "mine#0",
                "text": "My note",
                "acl": ["group:eng"],
                "chunk": dict(chunk, parent="h"),
            }
        ],
        principals=ENG,
    )
    hidden = [r for r in state(col) if r[0] in ("h", "h#0", "hr-1", "plan#1")]
    res = col.delete(["h"], principals=ENG)
    assert (res.deleted, res.ids) == (1, ())
    # where matches visible items only
    assert col.delete(where={"team": "hr"}, principals=ENG).ids == ("pub",)
    assert col.delete(where={}, principals=ENG) == ls.WriteResult()
    assert [r for r in state(col)] == hidden
    assert col.delete(where={}).deleted == 4  # unrestricted: everything


DOCS = [
    {"id": "a", "text": "The zebra crossing near the office is closed.", "acl": ["*"]},
    {"id": "b", "text": "Parking spaces for visitors are on level two.", "acl": ["*"]},
    {"id": "c", "text": "A zebra painted on the lobby wall welcomes guests.", "acl": ["group:eng"]},
    {"id": "d", "text": "Printer queue on floor three is stuck again.", "acl": ["*"]},
]


def _probe(col: ls.Collection) -> list:
    """What the eng reader sees of a keyword and a hybrid probe: ids and every score."""
    out = []
    for mode, fusion in (("keyword", None), ("hybrid", hybrid.Fusion(method="weighted"))):
        hits = col.search("zebra crossing", 10, mode=mode, principals=ENG, fusion=fusion)
        out.append([(h.id, round(h.score, 9), h.why) for h in hits])
    return out


def test_keyword_scores_do_not_depend_on_hidden_documents(col: ls.Collection) -> None:
    col.add(DOCS)
    alone = _probe(col)
    assert [h[0] for h in alone[0]] == ["a", "c"]
    # a hidden document with the word, then one of the same length without it
    col.add([{"id": "s", "text": "The zebra crossing secret of the sales team.", "acl": [HR]}])
    with_word = _probe(col)
    col.delete(["s"])
    col.add([{"id": "s", "text": "The quiet meeting secret of the sales team.", "acl": [HR]}])
    without_word = _probe(col)
    assert with_word == without_word == alone
    # an unrestricted caller still ranks over everything
    assert {h.id for h in col.search("secret", 5, mode="keyword")} == {"s"}


def test_a_writer_cannot_rewrite_what_it_wrote_out_of_its_own_sight(col: ls.Collection) -> None:
    """The documented limit: content written with an ACL that excludes the writer is hidden from
    it afterwards, so writing it again fails like a taken id instead of changing it."""
    assert col.upsert([{"text": SECRET, "acl": [HR]}], principals=ENG).added == 1
    before = state(col)
    with pytest.raises(DuplicateIdError, match="already taken"):
        col.upsert([{"text": SECRET, "acl": ["group:eng"]}], principals=ENG)
    assert state(col) == before
