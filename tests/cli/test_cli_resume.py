"""A build killed (SIGKILL) or interrupted (Ctrl-C) leaves a consistent index, and the next build resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus import ROOT
from sqlalchemy import create_engine, text

import latentsearch as ls

pytestmark = pytest.mark.slow  # each test runs three build processes

# Enough files, encoded by torch (the slowest backend), that a build is still running when the
# test stops it after 16 items: with OpenVINO 100 short notes were done before the signal landed.
N_FILES = 300


def _tree(root: Path) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for i in range(N_FILES):
        note = (
            f"Note {i}. Meeting room {i % 17} is booked for the weekly review of project {i * 7 % 101}. "
            f"Bring the figures for region {i % 5} and the open questions from ticket {1000 + i}. "
        )
        # Long enough (a full chunk of the model's window each) that the build is still busy
        # when the test stops it, even on a fast encoder under an idle machine.
        (docs / f"note-{i:03d}.txt").write_text(note * 8)
    return docs


def _start(docs: Path, index: Path, database: str | None, *extra: str) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "latentsearch",
        "build",
        str(docs),
        "--index",
        str(index),
        "--batch-size",
        "8",
        *extra,
    ]
    if database:
        cmd += ["--database", database]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "LATENTSEARCH_ENCODER_BACKEND": "torch",
    }
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        # As in a terminal: Ctrl-C interrupts. A child inherits an ignored SIGINT from its parent
        # (the test run may have one by then), and Python then installs no KeyboardInterrupt.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    except Exception:  # tables not created yet
        return 0
    finally:
        engine.dispose()


def _wait_for_items(proc: subprocess.Popen[str], url: str, n: int, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, (
            f"the build ended before it could be interrupted: {proc.communicate()}"
        )
        got = _count(url, "select count(*) from ls_items")
        if got >= n:
            return got
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the build wrote nothing in time")


def _url(index: Path, database: str | None) -> str:
    return database or f"sqlite:///{index / 'latentsearch.db'}"


def test_killed_build_is_consistent_and_resumes(tmp_path: Path, database: str | None) -> None:
    docs, index = _tree(tmp_path), tmp_path / "idx"
    proc = _start(docs, index, database)
    _wait_for_items(proc, _url(index, database), 16)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with ls.connect(index, database=database, device="cpu") as db:
        col = db.collection("default")
        stored = len(col)
        assert 16 <= stored < N_FILES
        assert col.verify()  # the FAISS index caught up with what SQL holds

    rerun = _start(docs, index, database, "--json")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    summary = json.loads(out)
    assert summary["items_encoded"] == N_FILES - stored  # nothing stored before is embedded again
    assert summary["added"] + summary["unchanged"] == N_FILES and summary["failed"] == 0
    with ls.connect(index, database=database, device="cpu") as db:
        col = db.collection("default")
        assert len(col) == N_FILES and col.verify()
        assert {i.id for i in col.get([f"note-{i:03d}.txt" for i in range(N_FILES)])} == {
            f"note-{i:03d}.txt" for i in range(N_FILES)
        }


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    docs, index = _tree(tmp_path), tmp_path / "idx"
    proc = _start(docs, index, None)
    _wait_for_items(proc, _url(index, None), 16)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    url = _url(index, None)
    assert _count(url, "select count(*) from ls_ingest_builds where status = 'interrupted'") == 1
    stored = _count(url, "select count(*) from ls_items")

    rerun = _start(docs, index, None, "--json")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert json.loads(out)["items_encoded"] == N_FILES - stored
    assert _count(url, "select count(*) from ls_items") == N_FILES
