"""Backups: an online snapshot taken while other processes write, restored and verified.

Every write acknowledged before the backup started is in the restored index, no batch (one
write call) is half there, and the restored index equals the restored store.
"""

from __future__ import annotations

import json
import tarfile
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from corpus import run
from full import FULL
from mp_writer import COLLECTION, DIM, Writer, check_batches
from sqlalchemy import select, text, update

import latentsearch as ls
from latentsearch.errors import BackupError
from latentsearch.store import ItemRow
from latentsearch.store.snapshot import pg_schema

WRITERS = 3 if FULL else 2
ROUNDS = 3 if FULL else 1  # backups taken one after another while the writers keep going


def _wait_for(writers: list[Writer], adds: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while any(len(w.acks()["add"]) < adds for w in writers):
        for w in writers:
            assert w.proc.poll() is None, f"writer died: {w.lines[-3:]} {w.stderr()[-2000:]}"
        assert time.monotonic() < deadline, "writers made no progress"
        time.sleep(0.05)


@pytest.fixture
def fresh_target(request, database):  # type: ignore[no-untyped-def]
    """Makes empty restore targets: None on SQLite, else a URL on a new PostgreSQL schema."""
    schemas: list[str] = []
    admin = request.getfixturevalue("pg_admin") if database else None

    def make() -> str | None:
        if database is None:
            return None
        schema = f"r_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return f"{database.split('?')[0]}?options=-csearch_path%3D{schema}"

    yield make
    for schema in schemas:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.mark.slow
def test_backup_while_writers_run(tmp_path, database, fresh_target) -> None:
    src = tmp_path / "idx"
    with ls.connect(src, database=database, device="cpu") as db:
        db.create_collection(COLLECTION, dim=DIM, index="Flat")
        db.create_collection("docs", encoder="text").add(
            [{"id": "a", "text": "vpn outage runbook", "acl": ["group:eng"]}]
        )
    writers = [Writer(src, database, p, 0) for p in "abc"[:WRITERS]]
    try:
        for r in range(ROUNDS):
            _wait_for(writers, 3 * (r + 1))
            before = [w.acks() for w in writers]  # acknowledged before the backup started
            out = tmp_path / f"backup-{r}.tar"
            report = ls.backup(src, out, database=database)
            assert all(w.proc.poll() is None for w in writers), "a writer stopped"
            assert report.collections[COLLECTION]["count"] > 0
            target, restore_db = tmp_path / f"restored-{r}", fresh_target()
            result = ls.restore(out, target, database=restore_db)
            assert result.ok, result.to_dict()
            assert result.collections[COLLECTION]["index_ok"]
            assert result.collections["docs"]["count"] == 1
            with ls.connect(target, database=restore_db, device="cpu") as db:
                col = db.collection(COLLECTION)
                for w, b in zip(writers, before, strict=True):
                    assert check_batches(col, w.prefix, b) == []
                assert col.verify()
                probe = f"{writers[0].prefix}1-0"  # batch 1: acknowledged, never deleted
                assert col.search({"id": probe}, k=1)[0].id == probe
                docs = db.collection("docs")
                assert docs.get("a").acl == ["group:eng"]
                # The keyword index is rebuilt by triggers on restore (PostgreSQL) or copied.
                hits = docs.search("vpn", 1, mode="keyword", principals=["group:eng"])
                assert [h.id for h in hits] == ["a"]
    finally:
        for w in writers:
            w.stop()
    for w in writers:
        assert w.errors() == [], w.errors()


def test_restore_refuses_a_non_empty_target_and_force_replaces(tmp_path, database) -> None:
    src = tmp_path / "idx"
    with ls.connect(src, database=database, device="cpu") as db:
        col = db.create_collection("v", dim=4)
        col.add(ids=["x", "y"], vectors=np.eye(4)[:2], acl=[["u:1"], None])
    out = tmp_path / "b.tar"
    ls.backup(src, out, database=database)
    with pytest.raises(BackupError, match=r"not empty|already holds"):
        ls.restore(out, src, database=database)
    with ls.connect(src, database=database, device="cpu") as db:
        db.collection("v").add(ids=["z"], vectors=np.eye(4)[2:3])
    result = ls.restore(out, src, database=database, force=True)
    assert result.ok and result.collections["v"]["count"] == 2
    with ls.connect(src, database=database, device="cpu") as db:
        assert sorted(i.id for i in db.collection("v").get(["x", "y", "z"])) == ["x", "y"]


def test_pg_schema_is_read_from_the_url() -> None:
    url = "postgresql+psycopg://u@h/db?options=-csearch_path%3Dt_abc"
    assert pg_schema(url) == "t_abc"
    assert (
        pg_schema("postgresql+psycopg://u@h/db?options=-c%20search_path%3D%22My%22,public") == "My"
    )
    assert pg_schema("postgresql+psycopg://u@h/db") is None


def test_cli_backup_restore_and_failures_leave_nothing(tmp_path) -> None:
    src = tmp_path / "idx"
    with ls.connect(src, device="cpu") as db:
        db.create_collection("v", dim=4).add(ids=["x"], vectors=np.eye(4)[:1])
        # An image uploaded over HTTP: kept in uploads/, named by its absolute path.
        (src / "uploads").mkdir()
        (src / "uploads" / "abc.png").write_bytes(b"png")
        with db.store.transaction() as s:
            s.execute(update(ItemRow).values(content_ref=str(src / "uploads" / "abc.png")))
    out = tmp_path / "out" / "b.tar"
    out.parent.mkdir()
    r = run("backup", "--index", str(src), "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["collections"]["v"]["count"] == 1 and made["dialect"] == "sqlite"
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["version"] == 1 and manifest["collections"]["v"]["seq"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.tar"]  # no temporary files left

    r = run("restore", "--from", str(out), "--index", str(tmp_path / "new"), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["ok"] is True
    with ls.connect(tmp_path / "new", device="cpu") as db, db.store.session() as s:
        ref = s.scalar(select(ItemRow.content_ref))
    assert ref == str(tmp_path / "new" / "uploads" / "abc.png") and Path(ref).read_bytes() == b"png"
    r = run("restore", "--from", str(out), "--index", str(tmp_path / "new"))
    assert r.exit_code == 4 and "not empty" in r.stderr
    r = run("restore", "--from", str(out), "--index", str(tmp_path / "new"), "--force")
    assert r.exit_code == 0 and "verified" in r.stdout

    # A damaged archive: refused, and no target folder or staging folder is left behind.
    bad = tmp_path / "bad.tar"
    data = bytearray(out.read_bytes())
    data[-20000] ^= 0xFF  # inside the database file's bytes
    bad.write_bytes(bytes(data))
    r = run("restore", "--from", str(bad), "--index", str(tmp_path / "never"))
    assert r.exit_code == 4, r.stderr
    assert not (tmp_path / "never").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    # A failed backup (no index there) leaves no archive and no temporary file.
    r = run(
        "backup", "--index", str(tmp_path / "missing"), "--out", str(tmp_path / "out" / "c.tar")
    )
    assert r.exit_code == 4
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.tar"]

    r = run("backup", "--help")
    assert "Examples" in r.stdout and "pg_dump" in r.stdout
    assert "--force" in run("restore", "--help").stdout


@pytest.mark.postgres
def test_pg_restore_creates_the_schema_the_url_names(tmp_path, pg_url, pg_admin) -> None:
    with ls.connect(tmp_path / "idx", database=pg_url, device="cpu") as db:
        db.create_collection("v", dim=4).add(ids=["x"], vectors=np.eye(4)[:1])
    out = tmp_path / "b.tar"
    ls.backup(tmp_path / "idx", out, database=pg_url)
    schema = f"New_{uuid.uuid4().hex[:8]}"  # mixed case: quoted in every statement
    target = f"{pg_url.split('?')[0]}?options=-csearch_path%3D%22{schema}%22"
    try:
        result = ls.restore(out, tmp_path / "new", database=target)
        assert result.ok and result.collections["v"]["count"] == 1
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    with pytest.raises(BackupError):  # an unreachable server is a typed error too
        ls.restore(out, tmp_path / "other", database="postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert not (tmp_path / "other").exists()
