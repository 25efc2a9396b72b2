"""A sync killed part-way (SIGKILL, in a real child process) resumes without loss, duplicates or
re-embedding what was already written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sync_child import source
from synckit import Counting

import latentsearch as ls
from latentsearch.connectors.runner import sync_source
from latentsearch.connectors.tables import SyncRecordRow

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).resolve().parent / "sync_child.py"
ROWS = 300


def _make_source(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, version INTEGER)")
        )
        conn.execute(
            text("INSERT INTO notes VALUES (:i, :b, :v)"),
            [
                {"i": i, "b": f"Note {i}: the {i % 7}th runbook step, case {i * 13 % 101}.", "v": i}
                for i in range(1, ROWS + 1)
            ],
        )
    engine.dispose()


def _run_and_kill(index: Path, src_db: Path, after_added: int) -> int:
    """Start the child, SIGKILL it once it has written ``after_added`` records; returns how many
    it reported written."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(index), str(src_db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{CHILD.parent}",
            "HF_HUB_OFFLINE": "1",
        },
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 180
    while sum(1 for ln in lines if ln.startswith("added")) < after_added:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the child never wrote"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(5)
    assert not any(ln.startswith("finished") for ln in lines), "killed too late"
    return sum(1 for ln in lines if ln.startswith("added") and ln.endswith("\n"))


def test_a_killed_sync_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    src_db, index = tmp_path / "source.db", tmp_path / "idx"
    _make_source(src_db)
    written = _run_and_kill(index, src_db, 40)
    written += _run_and_kill(index, src_db, 60)  # killed again, later on
    assert written >= 100
    with ls.connect(index, device="cpu") as db:
        counted = Counting(db.collection("docs"))
        res = sync_source(db, source(str(src_db)), batch_size=5)
        assert res.status == "done" and res.failed == 0
        # It resumed from the last checkpoint instead of starting over.
        assert res.added + res.updated + res.unchanged < ROWS - written + 2 * 5 + 1
        assert counted.texts <= ROWS - written + 2 * 5  # at most the pages cut short re-embed
        col = db.collection("docs")
        expected = {f"notes:{i}" for i in range(1, ROWS + 1)}
        assert len(col) == ROWS
        got = {it.id for it in col.get(sorted(expected))}
        assert got == expected
        with db.store.session() as s:
            n = s.scalar(
                select(func.count())
                .select_from(SyncRecordRow)
                .where(SyncRecordRow.version.is_(None))
            )
            total = s.scalar(select(func.count()).select_from(SyncRecordRow))
        assert (n, total) == (0, ROWS)
        # And once more: nothing to do.
        again = sync_source(db, source(str(src_db)))
        assert (again.added, again.updated, again.deleted) == (0, 0, 0)
