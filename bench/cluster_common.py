"""Shared pieces of the cluster benchmarks (`bench.cluster_query`, `bench.cluster_memory`).

Ray binds the machine's non-loopback address whatever it is told, so, like the cluster tests,
a cluster bench runs in a network namespace of its own: `isolate` re-runs the bench module under
``unshare -n`` (only 127.0.0.1 there), with PostgreSQL reached through its Unix socket. Inside,
`cluster` starts the real two-node cluster of ``tests/raykit.py`` (two ``ray start --block``
processes of one CPU each) and stops it after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import ROOT

PG_SOCKET = "postgresql+psycopg://root@/test?host=/var/run/postgresql"
sys.path.insert(0, str(ROOT / "tests"))  # raykit: the cluster starter the tests use

from raykit import RayCluster, isolated  # noqa: E402


def isolate(module: str, argv: list[str]) -> bool:
    """Outside a network namespace: run ``python -m module argv`` in one and return True (its
    output is this process's). Inside: return False and let the caller go on."""
    if isolated():
        return False
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LATENTSEARCH_TEST_PG": PG_SOCKET}
    inner = " ".join([sys.executable, "-m", module, *argv])
    cmd = ["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {inner}"]
    rc = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    if rc:
        raise SystemExit(rc)
    return True


@contextmanager
def cluster() -> Iterator[RayCluster]:
    for attempt in range(3):  # a `ray start` may give up on a machine this loaded: try again
        c = RayCluster()
        try:
            c.start()
            break
        except (RuntimeError, TimeoutError):
            c.stop()
            if attempt == 2:
                raise
    os.environ["RAY_ADDRESS"] = c.address
    try:
        yield c
    finally:
        try:
            import ray

            ray.shutdown()
        finally:
            c.stop()


@contextmanager
def pg_schema() -> Iterator[str]:
    """A database URL whose search_path is a fresh schema, dropped with its tables after."""
    from sqlalchemy import create_engine, text

    base = os.environ.get("LATENTSEARCH_TEST_PG", PG_SOCKET)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def memory(pid: int | str = "self") -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon and RssShmem of a process, in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssShmem"):
            out[key] = int(rest.split()[0]) / 1024
    return out


def ready(col: Any, probe: Any, wait_s: float = 900.0) -> float:
    """Search until every shard answers (replicas start and catch up slowly on a loaded
    machine); return the seconds waited."""
    import time

    from latentsearch.errors import ShardUnavailableError

    t = time.perf_counter()
    while True:
        try:
            col.search(probe, k=1)
            return time.perf_counter() - t
        except ShardUnavailableError:
            if time.perf_counter() - t > wait_s:
                raise
            time.sleep(5)


def fill(col: Any, data: Any, batch: int = 10_000) -> float:
    """Add ``data`` (ids ``v0``...) in batches; return the seconds it took."""
    import time

    t = time.perf_counter()
    for s in range(0, len(data), batch):
        block = data[s : s + batch]
        col.add(vectors=block, ids=[f"v{i}" for i in range(s, s + len(block))])
    return time.perf_counter() - t
