"""The SIGKILL harness shared by the crash and orphan tests: run tests/crash_writer.py in a child
process, kill it mid-write, and record which writes it acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WRITER = Path(__file__).resolve().parent / "crash_writer.py"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Acks:
    added: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)  # deleted or maybe deleted
    ambiguous: set[str] = field(default_factory=set)  # delete started, never acknowledged
    versions: dict[str, int] = field(default_factory=dict)  # acknowledged upsert versions


def run_and_kill(
    path: Path, database: str | None, start: int, spec: str, after: float, acks: Acks
) -> None:
    """Run the writer, SIGKILL it ``after`` seconds into its writes; record what it acknowledged."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), database or "", str(start), spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 120
    while not any(line.startswith("added") for line in lines):  # wait until it really writes
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "writer never wrote"
        time.sleep(0.02)
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(5)
    pending: dict[int, list[str]] = {}
    for line in lines:
        if not line.endswith("\n"):
            continue  # the kill cut this line short: it was never acknowledged
        parts = line.split()
        if parts[0] == "added":
            acks.added.update(f"v{j}" for j in range(int(parts[1]), int(parts[2])))
        elif parts[0] == "upserting":
            pending[int(parts[1])] = parts[2:]
        elif parts[0] == "upserted":
            for i in pending.pop(int(parts[1])):
                acks.versions[i] = int(parts[1])
        elif parts[0] == "deleting":
            acks.gone.add(f"v{parts[1]}")
            acks.ambiguous.add(f"v{parts[1]}")
        elif parts[0] == "deleted":
            acks.ambiguous.discard(f"v{parts[1]}")
