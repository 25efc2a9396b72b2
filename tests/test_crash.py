"""SIGKILL a writer at random moments: no acknowledged write is lost and the index equals the store."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import latentsearch as ls

WRITER = Path(__file__).with_name("crash_writer.py")


def run_and_kill(
    path: Path, database: str | None, start: int, spec: str, after: float
) -> tuple[set[str], set[str], set[str]]:
    """Run the writer, SIGKILL it after ``after`` seconds; return acked adds, acked and maybe deletes."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), database or "", str(start), spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 60
    while not any(line.startswith("added") for line in lines):  # wait until it really writes
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "writer never wrote"
        time.sleep(0.05)
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(5)
    added, deleted, maybe = set(), set(), set()
    for line in lines:
        if not line.endswith("\n"):
            continue  # the kill cut this line short: it was never acknowledged
        parts = line.split()
        if parts[0] == "added":
            added.update(f"v{j}" for j in range(int(parts[1]), int(parts[2])))
        elif parts[0] == "deleted":
            deleted.add(f"v{parts[1]}")
        elif parts[0] == "deleting":
            maybe.add(f"v{parts[1]}")
    return added, deleted, maybe - deleted


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["Flat", "HNSW16"])
def test_sigkill_loses_no_acknowledged_write(tmp_path, database, spec) -> None:
    rnd = random.Random(42)
    path = tmp_path / "idx"
    acked: set[str] = set()
    gone: set[str] = set()
    ambiguous: set[str] = set()
    for round_ in range(5):
        added, deleted, maybe = run_and_kill(
            path, database, round_ * 100_000, spec, rnd.uniform(0.05, 1.0)
        )
        acked |= added
        gone |= deleted | maybe
        ambiguous |= maybe
        with ls.connect(path, database=database, device="cpu") as db:
            col = db.collection("crash")
            present = {i.id for i in col.get(sorted(acked))}
            assert acked - gone <= present, (
                f"lost acknowledged items: {sorted(acked - gone - present)[:5]}"
            )
            assert not ((gone - ambiguous) & present), "an acknowledged delete came back"
            assert col.verify(), "index differs from the store after reopening"
            assert len(col) == col.index.ntotal
    assert len(acked) >= 250
