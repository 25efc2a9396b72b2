"""`IndexKeeper` on its own: a real SQLite store and real FAISS, no `Database`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from parts_kit import new_collection, open_store, put, remove, unit
from sqlalchemy import select

from latentsearch.core.keeper import IndexKeeper
from latentsearch.core.protocol import Keeper
from latentsearch.errors import CollectionNotFoundError
from latentsearch.store import CollectionRow
from latentsearch.store import items as sql


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "db")
    yield s
    s.close()


def saved_checkpoint(folder: Path, keeper: IndexKeeper) -> int:
    return int(json.loads((folder / f"{keeper.file}.json").read_text())["checkpoint"])


def test_opening_builds_from_the_store_and_saves(store, tmp_path: Path) -> None:
    st = new_collection(store)
    x = unit(50)
    seq = put(store, st, x)
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    assert isinstance(keeper, Keeper)  # the interface the writer and the query space rely on
    assert (keeper.count(), keeper.checkpoint) == (50, seq)
    assert saved_checkpoint(tmp_path / "idx", keeper) == seq
    with store.session() as s:
        pk = int(sql.existing(s, st.id, ["v7"])["v7"].id)
    res = keeper.search(x[7:8], 1)
    assert int(res.ids[0, 0]) == pk and res.scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    allowed = np.asarray([pk + 1], dtype=np.int64)  # an ID selector restricts the search
    assert int(keeper.search(x[7:8], 1, allowed=allowed).ids[0, 0]) == pk + 1


def test_sync_replays_writes_and_deletes_of_other_processes(store, tmp_path: Path) -> None:
    st = new_collection(store)
    put(store, st, unit(20))
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    put(store, st, unit(5, seed=1), prefix="w")
    seq = remove(store, st, ["v0", "v1", "w4"])
    assert keeper.checkpoint < seq
    assert keeper.sync() == seq
    assert (keeper.count(), keeper.checkpoint) == (22, seq)
    assert keeper.verify()


def test_reopening_loads_the_saved_index_and_replays_what_it_missed(
    store, tmp_path: Path, caplog
) -> None:
    st = new_collection(store)
    put(store, st, unit(30))
    first = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    first.close()
    seq = put(store, st, unit(4, seed=2), prefix="late")
    with caplog.at_level(logging.WARNING, logger="latentsearch.core.keeper"):
        again = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    assert "lags the store" in caplog.text  # loaded, then replayed (not rebuilt)
    assert (again.count(), again.checkpoint) == (34, seq)
    assert saved_checkpoint(tmp_path / "idx", again) == seq and again.verify()


def test_apply_mirrors_a_write_and_catches_up_when_one_was_missed(store, tmp_path) -> None:
    st = new_collection(store)
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    x = unit(3, seed=3)
    with keeper.writing() as s:  # what `Writer` does: one transaction under the lock
        seq = sql.bump_seq(s, st.id)
        pks = sql.insert_items(s, [_row(st.id, seq, "a")], x[:1], [["*"]])
    keeper.apply(seq, add=(pks, x[:1]))
    assert (keeper.count(), keeper.checkpoint) == (1, seq)
    put(store, st, x[1:2], prefix="other")  # a write this keeper never hears of
    with keeper.writing() as s:
        seq = sql.bump_seq(s, st.id)
        pks = sql.insert_items(s, [_row(st.id, seq, "c")], x[2:], [["*"]])
    keeper.apply(seq, add=(pks, x[2:]))  # not in step: replays both from the store
    assert (keeper.count(), keeper.checkpoint) == (3, seq) and keeper.verify()


def test_rebuild_rechooses_tunes_and_records_options(store, tmp_path: Path) -> None:
    st = new_collection(store, index="IVF4,Flat")
    put(store, st, unit(400, seed=4))
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    info = keeper.info()
    assert info.approximate and info.params["nprobe"] >= 1 and info.tuned_on == 400
    with store.session() as s:  # the tuning reached the store (written outside the lock)
        stored = s.scalar(select(CollectionRow.options).where(CollectionRow.id == st.id))
    assert stored["tuning"]["n"] == 400
    result = keeper.tune(recall_target=1.0)
    assert result.param == "nprobe" and keeper.info().recall_target == 1.0
    seq = remove(store, st, [f"v{i}" for i in range(100)])
    keeper.rebuild()
    assert (keeper.count(), keeper.checkpoint) == (300, seq)
    assert saved_checkpoint(tmp_path / "idx", keeper) == seq and keeper.verify()


def test_flush_compacts_when_due_and_saves(store, tmp_path: Path) -> None:
    st = new_collection(store, index="HNSW8")  # HNSW hides deleted ids until a rebuild
    put(store, st, unit(100, seed=5))
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    remove(store, st, [f"v{i}" for i in range(30)])
    keeper.sync()
    assert keeper.current().deleted  # tombstoned, not removed
    keeper.wait_for_maintenance()
    keeper.flush()
    assert not keeper.current().deleted and keeper.count() == 70 and keeper.verify()


def test_a_read_only_keeper_writes_nothing(store, tmp_path: Path) -> None:
    st = new_collection(store)
    put(store, st, unit(10))
    folder = tmp_path / "idx"
    folder.mkdir()
    keeper = IndexKeeper(store, folder, st, device="cpu", read_only=True)
    keeper.close()
    assert keeper.count() == 10 and list(folder.iterdir()) == []


def test_a_dropped_collection_says_so(store, tmp_path: Path) -> None:
    st = new_collection(store)
    keeper = IndexKeeper(store, tmp_path / "idx", st, device="cpu")
    with store.transaction() as s:
        s.delete(s.get(CollectionRow, st.id))
    with pytest.raises(CollectionNotFoundError, match="was dropped"):
        keeper.sync()


def _row(cid: int, seq: int, ext: str) -> dict:
    from latentsearch.store.models import utcnow

    now = utcnow()
    return {
        "collection_id": cid,
        "external_id": ext,
        "kind": "vector",
        "meta": {},
        "content_hash": ext,
        "seq": seq,
        "created": now,
        "updated": now,
    }
