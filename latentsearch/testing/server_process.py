"""Run `latentsearch serve` as a child process (for tests, benchmarks and the demo).

`running_server()` starts it on 127.0.0.1 with a free port in its own process group, waits for
/health, and always stops it (SIGTERM, then SIGKILL) when the block exits.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    index: Path,
    database: str | None = None,
    *,
    workers: int = 1,
    timeout: float = 180.0,
    log_file: Path | None = None,
    extra_args: tuple[str, ...] = (),
    wrap: tuple[str, ...] = (),
) -> Iterator[str]:
    """Start `serve` for ``index``; yield its base URL; stop it (and its workers) on exit.

    ``wrap`` prefixes the command (e.g. ``("setpriv", "--reuid=nobody", ...)`` to serve as
    another user)."""
    port = free_port()
    cmd = [
        *wrap,
        sys.executable,
        "-m",
        "latentsearch.server.cli",
        "serve",
        "--index",
        str(index),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--device",
        "cpu",
        "--log-level",
        "warning",
        *extra_args,
    ]
    if database:
        cmd += ["--database", database]
    log_path = log_file or Path(index) / f"server-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(proc, url, timeout, log_path)
            yield url
        finally:
            _stop(proc)


def _wait(proc: subprocess.Popen[bytes], url: str, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {_tail(log_path)}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start in {timeout:.0f} s: {_tail(log_path)}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""
