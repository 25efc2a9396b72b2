"""Child process for the backup and multi-process writer tests: adds, upserts and deletes batches
through the Python API, printing an acknowledgement after each write returns.

Step k adds batch k (``v=0``), upserts batch k-1 with new vectors (``v=1``), and deletes batch
k-2 when (k-2) % 3 == 0. A batch is one write call, so it is all there or not at all. Any
exception (a "database is locked" included) is printed as ``error ...`` and exits with 3.

    python mp_writer.py INDEX DATABASE|"" PREFIX STEPS(0: until killed)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import numpy as np

import latentsearch as ls

COLLECTION = "mp"
DIM = 16
BATCH = 5


def ids(prefix: str, k: int) -> list[str]:
    return [f"{prefix}{k}-{j}" for j in range(BATCH)]


def deleted_later(k: int) -> bool:
    return k % 3 == 0


def main(path: str, database: str, prefix: str, steps: int) -> None:
    rng = np.random.default_rng(abs(hash(prefix)) % 2**32)
    db = ls.connect(path, database=database or None, device="cpu")
    col = db.collection(COLLECTION)
    k = 0
    try:
        while steps == 0 or k < steps:
            batch = f"{prefix}{k}"
            col.add(
                ids=ids(prefix, k),
                vectors=rng.normal(size=(BATCH, DIM)),
                metadata=[{"batch": batch, "v": 0}] * BATCH,
            )
            print("ack add", k, flush=True)
            if k >= 1:
                col.upsert(
                    ids=ids(prefix, k - 1),
                    vectors=rng.normal(size=(BATCH, DIM)),
                    metadata=[{"batch": f"{prefix}{k - 1}", "v": 1}] * BATCH,
                )
                print("ack upsert", k - 1, flush=True)
            if k >= 2 and deleted_later(k - 2):
                print("begin delete", k - 2, flush=True)
                col.delete(ids(prefix, k - 2))
                print("ack delete", k - 2, flush=True)
            k += 1
    except Exception as exc:
        print(f"error {type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc()
        sys.exit(3)
    db.close()
    print("done", flush=True)


def parse(lines: list[str]) -> dict[str, set[int]]:
    """Acknowledged adds, upserts, deletes and begun deletes (complete lines only)."""
    out: dict[str, set[int]] = {"add": set(), "upsert": set(), "delete": set(), "begin": set()}
    for line in lines:
        parts = line.split()
        if not line.endswith("\n") or len(parts) != 3:
            continue
        if parts[0] == "ack":
            out[parts[1]].add(int(parts[2]))
        elif parts[0] == "begin":
            out["begin"].add(int(parts[2]))
    return out


class Writer:
    """A running mp_writer child whose output lines are collected as they come."""

    def __init__(self, path: Path, database: str | None, prefix: str, steps: int) -> None:
        self.prefix = prefix
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(path), database or "", prefix, str(steps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def acks(self) -> dict[str, set[int]]:
        return parse(list(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.wait()

    def wait(self, timeout: float = 300) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(10)
        return rc

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr else ""

    def errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("error")]


def check_batches(col: ls.Collection, prefix: str, before: dict[str, set[int]]) -> list[str]:
    """Problems in ``col`` for one writer's batches, given what was acknowledged ``before``:
    a batch is all there or absent, with one version; acked adds (never deleted) are present,
    acked upserts show v=1, acked deletes are gone."""
    problems = []
    top = max(before["add"], default=-1) + 50
    for k in range(top):
        items = col.get(ids(prefix, k))  # a list of those found
        versions = {it.metadata.get("v") for it in items}
        if len(items) not in (0, BATCH) or len(versions) > 1:
            problems.append(f"batch {prefix}{k} half there: {len(items)} items, v={versions}")
        if k in before["add"] and not deleted_later(k) and len(items) != BATCH:
            problems.append(f"acknowledged batch {prefix}{k} lost")
        if k in before["upsert"] and items and versions != {1}:
            problems.append(f"acknowledged upsert of {prefix}{k} lost (v={versions})")
        if k in before["delete"] and items:
            problems.append(f"acknowledged delete of {prefix}{k} undone")
    return problems


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
