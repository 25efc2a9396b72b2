"""Defect 11: orphan index files (after kills, drops and unreadable meta files) are removed on open.

The rule (`latentsearch.index.files`): files old enough that no live save can own them go. The
tests make files "old" by setting their mtime back (``_age``), as a later restart would see them.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np
from sqlalchemy import delete

import latentsearch as ls
from latentsearch.store import CollectionRow


def _age(folder: Path, seconds: float, pattern: str = "collection-*") -> None:
    t = time.time() - seconds
    for p in folder.glob(pattern):
        os.utime(p, (t, t))


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 8)).astype("float32")


def _index_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("collection-*")}


def _live(folder: Path, cid: int) -> set[str]:
    import json

    meta = json.loads((folder / f"collection-{cid}.json").read_text())
    return {f"collection-{cid}.json", meta["file"]}


def test_orphans_go_on_open_and_live_files_stay(index_path: Path, database: str | None) -> None:
    with ls.connect(index_path, database=database, device="cpu") as db:
        keep = db.create_collection("keep", dim=8, index="Flat")
        keep.add(ids=[f"k{i}" for i in range(10)], vectors=_vectors(10))
        gone = db.create_collection("gone", dim=8, index="Flat")
        gone.add(ids=["g"], vectors=_vectors(1, 1))
        kid, gid = keep.id, gone.id
        # A kill between the row's delete and the files' removal:
        with db.store.transaction() as s:
            s.execute(delete(CollectionRow).where(CollectionRow.id == gid))
    live = _live(index_path, kid)
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    orphans = {
        f"collection-{kid}.0123456789ab.faiss",  # data file no meta names
        f"collection-{kid}.json.{dead_pid}.tmp",  # writer died mid-save
        f"collection-{kid}.fedcba987654.faiss.{dead_pid}.tmp",
        *(f for f in _index_files(index_path) if f.startswith(f"collection-{gid}.")),
    }
    for name in orphans:
        (index_path / name).touch()
    _age(index_path, 120)
    young = {
        f"collection-{kid}.aaaaaaaaaaaa.faiss",  # maybe another process's save under way
        f"collection-{kid}.bbbbbbbbbbbb.faiss.{dead_pid}.tmp",
    }
    live_pid_tmp = f"collection-{kid}.cccccccccccc.faiss.{os.getppid()}.tmp"
    for name in [*young, live_pid_tmp]:
        (index_path / name).touch()
    _age(index_path, 120, live_pid_tmp)  # a live writer's temp file younger than 10 minutes
    other = index_path / "notes.faiss.tmp"  # not an index file: never touched
    other.touch()
    _age(index_path, 3600, "notes.faiss.tmp")

    with ls.connect(index_path, database=database, device="cpu") as db:
        assert _index_files(index_path) == live | young | {live_pid_tmp}
        assert other.exists()
        col = db.collection("keep")
        assert [h.id for h in col.search(_vectors(10)[3], k=1)] == ["k3"]
    _age(index_path, 700, live_pid_tmp)  # abandoned: older than 10 minutes, whatever its pid
    with ls.connect(index_path, database=database, device="cpu"):
        assert live_pid_tmp not in _index_files(index_path)


def test_a_rebuild_after_an_unreadable_meta_file_removes_the_old_index_file(
    index_path: Path,
) -> None:
    with ls.connect(index_path, device="cpu") as db:
        col = db.create_collection("c", dim=8, index="Flat")
        col.add(ids=[f"i{i}" for i in range(10)], vectors=_vectors(10))
        cid = col.id
    (old_data,) = (p.name for p in index_path.glob(f"collection-{cid}.*.faiss"))
    (index_path / f"collection-{cid}.json").write_text("{not json")
    _age(index_path, 120)
    with ls.connect(index_path, device="cpu") as db:
        col = db.collection("c")
        assert [h.id for h in col.search(_vectors(10)[4], k=1)] == ["i4"]
    assert old_data not in _index_files(index_path)
    assert _index_files(index_path) == _live(index_path, cid)


def test_sigkilled_writers_leave_nothing_behind_after_a_reopen(tmp_path: Path) -> None:
    from crashkit import Acks, run_and_kill

    path = tmp_path / "index"
    rng = random.Random(11)
    seen_orphans = 0
    for round_ in range(3):
        run_and_kill(path, None, round_ * 100_000, "Flat", rng.uniform(0.2, 1.5), Acks())
        with ls.connect(path, device="cpu") as db:
            cid = db.collection("crash").id
        # What a kill left (a later open removes only files old enough): count, then age them.
        seen_orphans += len(_index_files(path) - _live(path, cid))
        _age(path, 120)  # older than a minute: writers that died are gone
    with ls.connect(path, device="cpu") as db:
        col = db.collection("crash")
        assert col.verify()
    assert _index_files(path) == _live(path, cid)
    assert not list(path.glob("*.tmp"))
    print(f"orphans seen after kills: {seen_orphans}")
