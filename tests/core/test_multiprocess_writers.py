"""Several processes write one SQLite index while a real server process reads it.

Three Python-API writers (adds, upserts, deletes) and one ``latentsearch build`` run at once
against the folder that ``latentsearch serve`` is serving. No acknowledged write is lost, no
"database is locked" (or any other error) reaches a writer or a reader, the server sees every
acknowledged write, the WAL file is never deleted or replaced while the server lives, and
afterwards each index equals its store.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from full import FULL
from mp_writer import BATCH, COLLECTION, DIM, Writer, check_batches, deleted_later, ids

import latentsearch as ls
from latentsearch.server import keystore
from latentsearch.store.engine import SQLITE_FILE
from latentsearch.testing.server_process import running_server

STEPS = 60 if FULL else 8
DOCS = 40 if FULL else 8
LOCKED = ("database is locked", "OperationalError", "Traceback")


def _docs(folder: Path) -> Path:
    folder.mkdir()
    for i in range(DOCS):
        (folder / f"note-{i}.md").write_text(
            f"# Note {i}\n\nShared runbook entry {i}: restart the service and check the queue.\n"
        )
    return folder


def _wal_inode(index: Path) -> int:
    return os.stat(index / f"{SQLITE_FILE}-wal").st_ino


@pytest.mark.slow
def test_writers_build_and_server_share_one_sqlite_index(tmp_path) -> None:
    index = tmp_path / "idx"
    with ls.connect(index, device="cpu") as db:
        db.create_collection(COLLECTION, dim=DIM, index="Flat")
        with db.store.transaction() as s:
            key = keystore.create_key(s, "reader", [], "reader").key
    docs = _docs(tmp_path / "docs")
    log = tmp_path / "server.log"
    problems: list[str] = []
    with running_server(index, log_file=log) as url:
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        inode = _wal_inode(index)
        writers = [Writer(index, None, p, STEPS) for p in "abc"]
        build = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "latentsearch",
                "build",
                str(docs),
                "--index",
                str(index),
                "--collection",
                "notes",
                "--device",
                "cpu",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        checked: dict[str, set[int]] = {w.prefix: set() for w in writers}
        reads = 0
        running = True
        while running:  # one more pass after everyone is done: every acknowledgement is read
            running = any(w.proc.poll() is None for w in writers) or build.poll() is None
            if _wal_inode(index) != inode:
                problems.append("the WAL file was replaced while the server was running")
                break
            for w in writers:
                for k in sorted(w.acks()["add"] - checked[w.prefix]):
                    checked[w.prefix].add(k)
                    if deleted_later(k):
                        continue  # may be gone by the time we ask
                    probe = ids(w.prefix, k)[0]
                    # get, not search by id: the writer upserts this item with a new vector
                    # right after, so a concurrent search may rank by either version
                    r = http.get(f"/collections/{COLLECTION}/item", params={"id": probe})
                    reads += 1
                    if r.status_code != 200 or r.json()["id"] != probe:
                        problems.append(f"server did not see acknowledged {probe}: {r.text[:200]}")
            time.sleep(0.05)
        _, build_err = build.communicate(timeout=300)
        rcs = [w.wait() for w in writers]
        # Every acknowledged write is visible to the server after the fact too.
        with ls.connect(index, device="cpu") as db:
            expected = {c.name: c.count for c in db.collections()}
        listed = {c["name"]: c["count"] for c in http.get("/collections").json()}
        assert listed == expected
        # With the writers done, the server's index holds every surviving item: each finds itself.
        for w in writers:
            for k in range(STEPS):
                if deleted_later(k) and k < STEPS - 2:
                    continue
                probe = ids(w.prefix, k)[0]
                r = http.post(f"/collections/{COLLECTION}/search", json={"id": probe, "k": 1})
                if r.status_code != 200 or [h["id"] for h in r.json()["hits"]] != [probe]:
                    problems.append(f"search by id did not find {probe}: {r.text[:200]}")
        assert _wal_inode(index) == inode, "the WAL file was replaced while the server was running"
        http.close()
    assert problems == []
    assert reads >= STEPS, "the server was hardly read while the writers ran"
    for w, rc in zip(writers, rcs, strict=True):
        assert rc == 0 and w.errors() == [], (w.errors(), w.stderr()[-3000:])
        assert w.lines[-1] == "done\n"
    assert build.returncode == 0, build_err[-3000:]
    assert not any(s in build_err for s in LOCKED), build_err[-3000:]
    server_log = log.read_text(errors="replace")
    assert not any(s in server_log for s in LOCKED), server_log[-3000:]

    with ls.connect(index, device="cpu") as db:
        col = db.collection(COLLECTION)
        for w in writers:
            acks = w.acks()
            assert acks["add"] == set(range(STEPS))
            assert check_batches(col, w.prefix, acks) == []
        survivors = sum(1 for k in range(STEPS) if not deleted_later(k) or k >= STEPS - 2)
        assert len(col) == 3 * BATCH * survivors
        assert col.verify()
        notes = db.collection("notes")
        assert len(notes) >= DOCS and notes.verify()
    conn = sqlite3.connect(index / SQLITE_FILE)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
