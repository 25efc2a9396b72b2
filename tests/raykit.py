"""A real two-node Ray cluster for the cluster tests: two `ray start --block` processes.

Ray binds the machine's own non-loopback address whatever ``--node-ip-address`` says, so the
cluster tests run in a network namespace of their own (`tests/test_cluster_suite.py` re-runs
pytest on ``tests/cluster`` under ``unshare -n``, where the only address is 127.0.0.1).
PostgreSQL is reached there through its Unix socket (``LATENTSEARCH_TEST_PG``).

Each node is one ``ray start --block`` process group, so a test can stop a node the way a
machine is lost (SIGKILL to its processes) and start it again.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))
PORT = 6379
ADDRESS = f"127.0.0.1:{PORT}"
# Short (Ray's Unix socket paths must fit in 107 bytes) and one per test run: several runs, each
# in its own namespace, share this machine's /tmp.
TEMP = f"/tmp/lsray{os.getpid()}"


def isolated() -> bool:
    """True in a network namespace whose only interface is the loopback one."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def node_env() -> dict[str, str]:
    """What every Ray worker inherits: this checkout first on the path, one FAISS/BLAS thread
    per process (actors never oversubscribe a node), offline model loading, no usage report."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        RAY_USAGE_STATS_ENABLED="0",
        RAY_ADDRESS=ADDRESS,
        # A lost node is declared dead after ~3 s instead of ~30 s (the GCS health check).
        RAY_health_check_period_ms="1000",
        RAY_health_check_timeout_ms="1000",
        RAY_health_check_failure_threshold="3",
    )
    return env


@dataclass
class RayCluster:
    """Two Ray nodes of ``cpus`` CPUs each: the head and one worker node."""

    cpus: int = 1
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    address: str = ADDRESS

    def start(self) -> RayCluster:
        self.nodes.append(self._node("--head", f"--port={PORT}", "--include-dashboard=false"))
        self._wait(1)
        self.start_worker()
        return self

    def start_worker(self) -> None:
        """Start (again) the second node and wait until the cluster sees it."""
        alive = self.alive_nodes()
        for attempt in range(4):
            self.nodes[1:] = [self._node(f"--address={ADDRESS}")]
            try:
                self._wait(alive + 1)
                return
            except RuntimeError:  # it exited (Ray gives a raylet 30 s to register)
                _kill_session(self.nodes[1])  # whatever it had started
                if attempt == 3:
                    raise

    def stop_worker(self) -> None:
        """Lose the second node: SIGKILL its raylet, object store and workers at once."""
        _kill_session(self.nodes[1])
        self._wait(1, at_most=True)

    def alive_nodes(self) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _COUNT],
            env=node_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        return int(out.stdout.strip() or 0)

    def stop(self) -> None:
        # Not `ray stop`: it kills every Ray process on the machine, other namespaces' too.
        for proc in self.nodes:
            _kill_session(proc)
        shutil.rmtree(TEMP, ignore_errors=True)

    def _node(self, *args: str) -> subprocess.Popen[bytes]:
        cmd = [
            RAY,
            "start",
            "--block",
            f"--num-cpus={self.cpus}",
            f"--temp-dir={TEMP}",
            "--disable-usage-stats",
            *args,
        ]
        return subprocess.Popen(
            cmd,
            env=node_env(),
            start_new_session=True,
            preexec_fn=_die_with_parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait(self, n: int, timeout: float = 400.0, *, at_most: bool = False) -> None:
        """Until ``n`` or more nodes are alive (``at_most``: ``n`` or fewer)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not at_most and any(p.poll() is not None for p in self.nodes):
                raise RuntimeError(f"a ray start process exited: {[p.args for p in self.nodes]}")
            try:
                alive = self.alive_nodes()
                if (alive <= n) if at_most else (alive >= n):
                    return
            except (subprocess.TimeoutExpired, ValueError):
                pass
            time.sleep(1.0)
        raise TimeoutError(f"the Ray cluster did not reach {n} live nodes in {timeout:.0f} s")


def _die_with_parent() -> None:
    """SIGTERM the node when the test process dies, however it dies (a timeout's SIGKILL too):
    `ray start --block` then stops its own processes. Without this, a killed test run leaves its
    nodes behind, gigabytes each."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a node: its ``ray start`` process and everything in its session (the GCS,
    raylet, object store and worker processes), wherever they moved their process group."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.getsid(int(pid)) == proc.pid:
                    os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    proc.wait(30)


# Counts live nodes from a separate short-lived driver (the test process may not be one yet).
_COUNT = (
    "import ray, os; ray.init(address=os.environ['RAY_ADDRESS'], logging_level='ERROR');"
    "print(sum(n['Alive'] for n in ray.nodes()))"
)
