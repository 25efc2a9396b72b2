"""SIGKILL writers at random moments: no acknowledged write is lost, no acknowledged delete comes
back, and the index equals the store after every reopen.

Two writers: the Python API (`crash_writer.py`: add, upsert, delete) and ``latentsearch build``
over a folder whose files are added, changed and removed (``--prune``) between builds. Both run
on Flat and HNSW, on SQLite and PostgreSQL. Kills per configuration: `KILLS` (CI) or 50 with
``LATENTSEARCH_TEST_FULL=1`` (``make test-full``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from crashkit import ROOT, Acks, run_and_kill
from full import scaled

import latentsearch as ls
from latentsearch.store import items as sql
from latentsearch.store.models import ItemRow

KILLS = scaled(ci=2, full=50)
BUILD_KILLS = scaled(ci=1, full=50)


# -- the Python API writer (the harness is tests/crashkit.py) ----------------------------


def check_index(col: ls.Collection, ids: list[str], exact: bool) -> None:
    """The index holds exactly the store's items and answers like a scan of the stored vectors."""
    assert col.verify(), "index differs from the store after reopening"
    assert len(col) == col.index.ntotal
    items = col.get(ids, include_vectors=True)
    vecs = np.stack([it.vector for it in items]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rnd = random.Random(len(items))
    for it in rnd.sample(items, min(5, len(items))):  # each stored vector finds its own item
        top = col.search(it.vector, k=1)[0]
        assert top.id == it.id and top.score > 0.999, (it.id, top)
    if exact:  # Flat: the same top 10 as a brute-force scan of the store's vectors
        probe = np.random.default_rng(len(items)).normal(size=vecs.shape[1]).astype(np.float32)
        probe /= np.linalg.norm(probe)
        want = [items[i].id for i in np.argsort(-(vecs @ probe), kind="stable")[:10]]
        assert [h.id for h in col.search(probe, k=10)] == want


@pytest.mark.slow
@pytest.mark.timeout(scaled(ci=600, full=6 * 3600))  # 50 kills take long on a busy machine
@pytest.mark.parametrize("spec", ["Flat", "HNSW16"])
def test_sigkill_python_writer_loses_no_acknowledged_write(tmp_path, database, spec) -> None:
    rnd = random.Random(f"py-{spec}")
    path = tmp_path / "idx"
    acks = Acks()
    for round_ in range(KILLS):
        run_and_kill(path, database, round_ * 1_000_000, spec, rnd.uniform(0.05, 1.0), acks)
        with ls.connect(path, database=database, device="cpu") as db:
            col = db.collection("crash")
            present = {i.id: i for i in col.get(sorted(acks.added | acks.gone))}
            lost = acks.added - acks.gone - set(present)
            assert not lost, f"round {round_}: lost acknowledged items: {sorted(lost)[:5]}"
            back = (acks.gone - acks.ambiguous) & set(present)
            assert not back, f"round {round_}: acknowledged deletes came back: {sorted(back)[:5]}"
            stale = [
                i
                for i, v in acks.versions.items()
                if i in present and present[i].metadata["version"] < v
            ]
            assert not stale, f"round {round_}: acknowledged upserts lost: {stale[:5]}"
            check_index(col, all_ids(db, "crash"), exact=spec == "Flat")
    assert len(acks.added) >= 50 * KILLS and acks.versions


# -- `latentsearch build` ----------------------------------------------------------------
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
]


@dataclass
class Folder:
    """Files to build, and what the last build that finished acknowledged."""

    path: Path
    rnd: random.Random
    n: int = 0
    version: dict[str, int] = field(default_factory=dict)  # file -> version on disk
    acked: dict[str, int] = field(default_factory=dict)  # doc id -> version a finished build saw
    removed: set[str] = field(default_factory=set)  # removed from disk, not yet acknowledged

    def write(self, name: str, version: int) -> None:
        words = " ".join(self.rnd.choice(WORDS) for _ in range(12))
        (self.path / name).write_text(f"# {name}\n\n{name} version {version}: {words}.\n")
        self.version[name] = version

    def change(self, adds: int) -> None:
        """Add files, change one (an upsert) and remove one (a delete through --prune)."""
        for _ in range(adds):
            self.n += 1
            self.write(f"doc-{self.n}.md", 0)
        if len(self.version) > adds + 2:
            old = sorted(self.version)[:-adds]
            self.write(self.rnd.choice(old), self.n)
            gone = self.rnd.choice([f for f in old if f in self.acked])
            (self.path / gone).unlink()
            del self.version[gone]
            self.removed.add(gone)


def start_build(folder: Path, index: Path, database: str | None, spec: str) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "latentsearch",
        "build",
        str(folder),
        "--index",
        str(index),
        "--prune",
        "--index-type",
        spec,
        "--device",
        "cpu",
        "--json",
        "--batch-size",
        "2",
    ]
    if database:
        args += ["--database", database]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def stored_docs(db: ls.Database) -> dict[str, int]:
    """doc id -> the version its stored text carries."""
    col = db.collection("default")
    with db.store.session() as s:
        rows = s.execute(
            ItemRow.__table__.select()
            .with_only_columns(ItemRow.external_id, ItemRow.text)
            .where(ItemRow.collection_id == col.id)
        ).all()
    out = {}
    for ext, text in rows:
        doc = ext.split("#")[0]
        out[doc] = int(text.split(" version ")[1].split(":")[0])
    return out


@pytest.mark.slow
@pytest.mark.timeout(scaled(ci=600, full=6 * 3600))
@pytest.mark.parametrize("spec", ["Flat", "HNSW16"])
def test_sigkill_cli_build_loses_no_acknowledged_write(tmp_path, database, spec) -> None:
    folder = Folder(tmp_path / "docs", random.Random(f"build-{spec}"))
    folder.path.mkdir()
    index = tmp_path / "idx"
    folder.change(adds=12)
    proc = start_build(folder.path, index, database, spec)
    assert proc.wait() == 0, proc.stderr.read()  # type: ignore[union-attr]
    folder.acked = dict(folder.version)
    rnd = random.Random(spec)
    kills = 0
    with ls.connect(index, database=database, device="cpu") as watch:  # sees each write's seq
        for round_ in range(BUILD_KILLS):
            folder.change(adds=8)
            proc = start_build(folder.path, index, database, spec)
            status = kill_while_writing(proc, watch.collection("default"), rnd.uniform(0.0, 0.3))
            assert status in (None, 0), proc.stderr.read()  # type: ignore[union-attr]
            kills += status is None
            if status == 0:
                folder.acked = dict(folder.version)  # the build returned: all of it acknowledged
                folder.removed.clear()
            with ls.connect(index, database=database, device="cpu") as db:
                check_build(db, folder, round_, exact=spec == "Flat")
    assert kills >= BUILD_KILLS // 2, f"only {kills} of {BUILD_KILLS} builds were killed mid-write"
    proc = start_build(folder.path, index, database, spec)  # a last build repairs everything
    assert proc.wait() == 0, proc.stderr.read()  # type: ignore[union-attr]
    with ls.connect(index, database=database, device="cpu") as db:
        assert stored_docs(db) == folder.version
        assert db.collection("default").verify()


def kill_while_writing(proc: subprocess.Popen, col: ls.Collection, delay: float) -> int | None:
    """SIGKILL ``proc`` ``delay`` seconds after its first write reached the store (its write
    sequence moved; batches of two, so the kill lands amid adds, changes or the prune); None when killed, else the exit status of a build that finished first."""
    with col._space.store.session() as s:
        seq0 = sql.current_seq(s, col.id)
    deadline = time.monotonic() + 300
    while proc.poll() is None:
        with col._space.store.session() as s:
            if sql.current_seq(s, col.id) != seq0:
                time.sleep(delay)
                break
        assert time.monotonic() < deadline, "the build never wrote"
        time.sleep(0.01)
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return None


def check_build(db: ls.Database, folder: Folder, round_: int, exact: bool) -> None:
    docs = stored_docs(db)
    for doc, v in folder.acked.items():
        if doc in folder.removed:
            continue  # removed in this round: either outcome is fine until a build returns
        assert doc in docs, f"round {round_}: acknowledged {doc} lost"
        assert docs[doc] in (v, folder.version.get(doc)), (
            f"round {round_}: {doc} has version {docs[doc]}, acknowledged {v}"
        )
    back = set(docs) - set(folder.version) - folder.removed
    assert not back, f"round {round_}: acknowledged removals came back: {sorted(back)}"
    check_index(db.collection("default"), all_ids(db, "default"), exact)


def all_ids(db: ls.Database, name: str) -> list[str]:
    """Every id the store holds in the collection (acknowledged or not)."""
    col = db.collection(name)
    with db.store.session() as s:
        query = ItemRow.__table__.select().with_only_columns(ItemRow.external_id)
        return sorted(s.scalars(query.where(ItemRow.collection_id == col.id)))


def test_scaled_reads_the_full_run_variable(monkeypatch) -> None:
    monkeypatch.delenv("LATENTSEARCH_TEST_FULL", raising=False)
    assert scaled(ci=3, full=50) == 3
    monkeypatch.setenv("LATENTSEARCH_TEST_FULL", "1")
    assert scaled(ci=3, full=50) == 50
    monkeypatch.setenv("LATENTSEARCH_TEST_FULL", "0")
    assert scaled(ci=3, full=50) == 3
