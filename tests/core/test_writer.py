"""`Writer` on its own (with an `IndexKeeper`): validate, embed, write, mirror; and the rule
"a writer changes only what it can see". A real SQLite store and real FAISS, no `Database`."""

from __future__ import annotations

from pathlib import Path

import pytest
from parts_kit import new_collection, open_store, unit, writer_for

from latentsearch.core.keeper import IndexKeeper
from latentsearch.errors import DuplicateIdError, InvalidInputError
from latentsearch.store import items as sql

A, B = ["group:a"], ["group:b"]


@pytest.fixture
def parts(tmp_path: Path):
    store = open_store(tmp_path / "db")
    st = new_collection(store)
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    yield store, st, keeper, writer_for(store, keeper, st)
    keeper.close()
    store.close()


def acl_of(store, st, ext: str) -> list[str]:
    with store.session() as s:
        row = sql.existing(s, st.id, [ext])[ext]
        return sql.principals_of(s, [row.id])[row.id]


def test_writes_reach_the_store_and_the_index(parts) -> None:
    _, _, keeper, writer = parts
    x = unit(6)
    res = writer.write(vectors=x[:4], ids=["a", "b", "c", "d"], upsert=False)
    assert (res.added, keeper.count(), keeper.checkpoint) == (4, 4, 1)
    again = writer.write(vectors=x[:4], ids=["a", "b", "c", "d"], upsert=True)
    assert (again.unchanged, keeper.checkpoint) == (4, 2)  # same content: nothing re-embedded
    moved = writer.write([{"id": "a", "vector": x[5]}, {"id": "e", "vector": x[4]}], upsert=True)
    assert (moved.added, moved.updated) == (1, 1)
    gone = writer.delete(["b", "zzz"])
    assert (gone.deleted, gone.ids) == (1, ("b",))
    assert keeper.count() == 4 and keeper.verify()
    with pytest.raises(DuplicateIdError, match="already taken"):
        writer.write(vectors=x[:1], ids=["a"], upsert=False)


def test_arguments_are_checked_before_anything_is_written(parts) -> None:
    _, _, keeper, writer = parts
    with pytest.raises(InvalidInputError, match="stores raw vectors"):
        writer.write(texts=["hello"], upsert=False)
    with pytest.raises(InvalidInputError, match="give ids"):
        writer.delete()
    with pytest.raises(InvalidInputError, match="either a list of records or keyword lists"):
        writer.write([{"vector": unit(1)[0]}], ids=["x"], upsert=False)
    assert keeper.checkpoint == 0 and keeper.count() == 0


def test_a_writer_changes_only_what_it_can_see(parts) -> None:
    store, st, keeper, writer = parts
    x = unit(3, seed=1)
    writer.write(vectors=x[:2], ids=["secret", "shared"], acl=[A, ["*"]], upsert=False)
    # an id naming a hidden item fails exactly like a taken id
    with pytest.raises(DuplicateIdError, match="already taken"):
        writer.write(vectors=x[2:], ids=["secret"], acl=[B], upsert=True, principals=B)
    assert acl_of(store, st, "secret") == A
    # deletes skip hidden items, by id and by filter
    assert writer.delete(["secret"], principals=B).deleted == 0
    assert writer.delete(where={}, principals=B).ids == ("shared",)
    assert keeper.count() == 1 and keeper.verify()


def test_a_derived_id_never_lands_on_a_hidden_item(parts) -> None:
    store, st, keeper, writer = parts
    v = unit(1, seed=2)[0]
    shared = writer.write([{"vector": v, "acl": A}], upsert=False).ids[0]  # content-derived
    res = writer.write([{"vector": v, "acl": B}], upsert=True, principals=B)
    (mine,) = res.ids
    assert mine != shared and res.added == 1  # B's own id: the hidden item is untouched
    assert acl_of(store, st, shared) == A and acl_of(store, st, mine) == B
    again = writer.write([{"vector": v, "acl": B}], upsert=True, principals=B)
    assert again.ids == (mine,) and again.unchanged == 1  # still idempotent
    assert keeper.count() == 2 and keeper.verify()
