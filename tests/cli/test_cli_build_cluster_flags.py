"""``latentsearch build --cluster`` without Ray installed says what to install, before touching
anything; the cluster-only flags without ``--cluster`` are a usage error. (The builds on a real
cluster are in tests/cluster/test_distributed_build.py.)

Ray is installed in the test environment, so a folder put first on PYTHONPATH shadows it with a
package whose import fails, as it would where it is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HINT = "pip install 'latentsearch[distributed]'"
PG = "postgresql+psycopg://root@127.0.0.1:5432/test"


def run(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latentsearch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def no_ray(tmp_path: Path) -> dict[str, str]:
    blocked = tmp_path / "blocked" / "ray"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text(
        "raise ImportError(\"No module named 'ray' (blocked by the test)\", name='ray')\n"
    )
    return {**os.environ, "PYTHONPATH": f"{blocked.parent}{os.pathsep}{ROOT}"}


def test_cluster_without_ray_names_the_extra(no_ray: dict[str, str], tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    args = ["build", ROOT / "samples" / "docs", "--index", idx, "--database", PG]
    proc = run(no_ray, *args, "--cluster", "auto", "--shards", "2")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    message = " ".join(proc.stderr.split())
    assert "needs the distributed extra" in message and HINT in message, message
    assert "Traceback" not in proc.stderr
    assert not idx.exists()  # failed before touching anything


def test_cluster_flags_need_cluster(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    for flag in ("--workers", "--shards", "--replicas"):
        proc = run(dict(os.environ), "build", ROOT / "samples" / "docs", "--index", idx, flag, "2")
        assert proc.returncode == 2, proc.stderr
        assert "need --cluster" in " ".join(proc.stderr.split())
        assert not idx.exists()


def test_help_shows_the_cluster_examples() -> None:
    proc = run({**os.environ, "COLUMNS": "200"}, "build", "--help")
    assert proc.returncode == 0
    for text in ("--cluster auto --shards 4 --replicas 2", "--workers 8", HINT):
        assert text in proc.stdout, text
