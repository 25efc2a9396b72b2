"""The indexed metadata side table, the scope cache and the ID selectors, on SQLite and PostgreSQL.

`test_filters.py` checks every filter on both paths (side table and JSON) against a Python
reference; here: what only the side table has (long strings and keys, writes that change or
delete metadata, the upgrade of an existing database), and the planner's caches and selectors.
"""

from __future__ import annotations

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, func, select, text

import latentsearch as ls
from latentsearch.index.primitives import faiss, id_selector
from latentsearch.query.search import scope_of
from latentsearch.store import ItemRow, ItemValueRow
from latentsearch.store.acl import access
from latentsearch.store.engine import MIGRATIONS, sqlite_url
from latentsearch.store.filters import compile_where
from latentsearch.store.values import KEY_MAX, STR_MAX

LONG = "x" * (STR_MAX + 5)
LONG_KEY = "k" * (KEY_MAX + 1)


def ids_for(col: ls.Collection, where) -> dict[str, set[str]]:
    """Matches through the side table and through the JSON path (they must agree)."""
    out = {}
    with col._space.store.session() as s:
        for name, cid in (("index", col.id), ("json", None)):
            stmt = select(ItemRow.external_id).where(
                ItemRow.collection_id == col.id, compile_where(where, cid)
            )
            out[name] = set(s.scalars(stmt))
    assert out["index"] == out["json"], where
    return out["index"]


@pytest.fixture
def col(db: ls.Database) -> ls.Collection:
    c = db.create_collection("v", dim=2)
    metas = [
        {"s": LONG, "tags": [LONG, "a"], LONG_KEY: 1},
        {"s": LONG + "y", "tags": ["a"], LONG_KEY: 2},
        {"s": "short", "n": 50},
        {"s": LONG[:STR_MAX], "n": 3},  # exactly STR_MAX: still a short string
    ]
    c.add(vectors=np.eye(2)[[0, 1, 0, 1]], ids=["l0", "l1", "s2", "m3"], metadata=metas)
    return c


@pytest.mark.parametrize(
    ("where", "want"),
    [
        ({"s": LONG}, {"l0"}),
        ({"s": {"$ne": LONG}}, {"l1", "s2", "m3"}),
        ({"s": {"$in": [LONG + "y", "short"]}}, {"l1", "s2"}),
        ({"s": {"$gt": LONG}}, {"l1"}),
        ({"s": {"$gte": LONG[:STR_MAX], "$lt": LONG + "y"}}, {"l0", "m3"}),
        ({"s": {"$lt": "t", "$gt": 1}}, set()),  # a value is never a number and a string
        ({"tags": {"$contains": LONG}}, {"l0"}),
        ({"tags": {"$contains": "a"}}, {"l0", "l1"}),
        ({LONG_KEY: 2}, {"l1"}),
        ({LONG_KEY: {"$exists": True}}, {"l0", "l1"}),
        ({"n": {"$gte": 3, "$lte": 5}}, {"m3"}),
    ],
)
def test_long_strings_and_keys_match_like_json(col, where, want) -> None:
    assert ids_for(col, where) == want


def test_rows_follow_updates_and_deletes(col) -> None:
    assert ids_for(col, {"n": 3}) == {"m3"}
    col.upsert(vectors=np.eye(2)[[1]], ids=["m3"], metadata=[{"n": 4, "tags": ["b"]}])
    assert ids_for(col, {"n": 3}) == set()
    assert ids_for(col, {"n": 4}) == {"m3"}
    assert ids_for(col, {"tags": {"$contains": "b"}}) == {"m3"}
    col.delete(["l0", "m3"])
    with col._space.store.session() as s:
        left = s.scalars(select(func.count()).select_from(ItemValueRow)).one()
        items = s.scalars(select(ItemRow.id)).all()
        rows = s.scalars(select(ItemValueRow.item_id).distinct()).all()
    assert set(rows) <= set(items) and left > 0


def test_numbers_beyond_float_range_do_not_break_writes(db: ls.Database) -> None:
    col = db.create_collection("big", dim=2)
    col.add(vectors=[[1, 0], [0, 1]], ids=["a", "b"], metadata=[{"big": 10**400, "g": 1}, {}])
    assert ids_for(col, {"g": 1}) == {"a"}
    assert ids_for(col, {"big": {"$exists": True}}) == {"a"}


def test_filtered_search_uses_fresh_scopes_after_writes(db: ls.Database) -> None:
    col = db.create_collection("c", dim=2)
    col.add(vectors=[[1, 0], [0.9, 0.1]], ids=["a", "b"], metadata=[{"g": 1}, {"g": 2}])
    acc = access(None, required=False)
    first = scope_of(col._space, {"g": 1}, acc)
    again = scope_of(col._space, {"g": 1}, acc)
    assert again.allowed is first.allowed  # the cached array, not a new query
    assert scope_of(col._space, {"g": 1.0}, acc).size == 1  # another key, same answer
    col.upsert(vectors=[[0.95, 0.05]], ids=["c"], metadata=[{"g": 1}])
    assert [h.id for h in col.search([1, 0], k=5, where={"g": 1})] == ["a", "c"]
    # A write by another connection (another process) retires the cached scope too.
    with ls.connect(db.path, database=None if db.store.dialect == "sqlite" else db.store.url) as d2:
        d2.collection("c").delete(["a"])
    assert [h.id for h in col.search([1, 0], k=5, where={"g": 1})] == ["c"]


def test_id_selectors_dense_and_sparse() -> None:
    for ids in (np.arange(0, 5000, 3), np.array([5, 10**12])):
        sel = id_selector(ids.astype(np.int64))
        kind = "Bitmap" if ids.max() < 10**6 else "Batch"
        assert kind in type(sel).__name__
        probe = np.array([0, 3, 5, 6, 10**12, 10**12 + 1, 7000])
        got = [bool(sel.is_member(int(i))) for i in probe]
        assert got == [bool(np.isin(i, ids)) for i in probe]
    assert faiss is not None


def _at_0005(url: str) -> None:
    """A database whose schema stops at revision 0005 (before the side table)."""
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_keys")
        conn.execute(
            text(
                "INSERT INTO ls_collections (name, encoder, dim, metric, index_spec, "
                "require_principals, seq, options, created) VALUES ('old', '{}', 2, 'cosine', "
                "'Flat', false, 1, :options, CURRENT_TIMESTAMP)"
            ),
            {"options": '{"default_acl": ["*"]}'},
        )
        cid = conn.execute(text("SELECT id FROM ls_collections")).scalar_one()
        for i, meta in enumerate(['{"g": 1, "t": ["x", 2]}', '{"g": "1"}', "{}"]):
            item = conn.execute(
                text(
                    "INSERT INTO ls_items (collection_id, external_id, kind, metadata, "
                    "content_hash, seq, created, updated) VALUES (:c, :e, 'vector', :m, 'h', 1, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"c": cid, "e": f"o{i}", "m": meta},
            ).scalar_one()
            conn.execute(
                text("INSERT INTO ls_vectors (item_id, data) VALUES (:i, :d)"),
                {"i": item, "d": np.asarray([1, i], dtype="<f4").tobytes()},
            )
            conn.execute(
                text("INSERT INTO ls_item_principals (item_id, principal) VALUES (:i, '*')"),
                {"i": item},
            )
    engine.dispose()


def test_upgrade_from_0005_backfills_the_side_table(index_path, database) -> None:
    index_path.mkdir(parents=True)
    _at_0005(database or sqlite_url(index_path))
    with ls.connect(index_path, database=database, device="cpu") as db:
        col = db.collection("old")
        with db.store.session() as s:
            assert (
                s.scalars(select(func.count()).select_from(ItemValueRow)).one() == 5
            )  # g, t, 2 elements; g
        assert ids_for(col, {"g": 1}) == {"o0"}
        assert ids_for(col, {"g": {"$exists": False}}) == {"o2"}
        assert ids_for(col, {"t": {"$contains": 2}}) == {"o0"}
        assert [h.id for h in col.search([1, 0], k=1, where={"g": "1"})] == ["o1"]
