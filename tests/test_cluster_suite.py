"""Runs the Ray cluster tests (tests/cluster) in a network namespace of their own.

Ray binds the machine's own non-loopback address whatever it is told, and tests must not use
it. ``unshare -n`` gives the nested pytest a namespace with only the loopback interface, where
the two `ray start` nodes, the test driver and PostgreSQL (through its Unix socket) meet.
The nested run's output is shown when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_SOCKET_URL = "postgresql+psycopg://root@/test?host=/var/run/postgresql"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(3000)
def test_cluster_suite() -> None:
    assert shutil.which("unshare"), "util-linux's unshare is needed (make setup installs it)"
    env = {
        **os.environ,
        "LATENTSEARCH_CLUSTER_NETNS": "1",
        "LATENTSEARCH_TEST_PG": PG_SOCKET_URL,
    }
    script = 'ip link set lo up && exec "$0" -m pytest -p no:cacheprovider -q tests/cluster'
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, sys.executable],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=2900,
    )
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stdout[-30000:] + proc.stderr[-8000:]
