"""``latentsearch mcp`` on the command line: help without the SDK, the extra named when it is
missing, and a bad transport refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latentsearch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def test_help_and_the_missing_extra(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked" / "mcp"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("No module named mcp (blocked)")\n')
    env = {**os.environ, "PYTHONPATH": f"{blocked.parent}{os.pathsep}{ROOT}", "HF_HUB_OFFLINE": "1"}
    proc = _run(env, "mcp", "--help")
    assert proc.returncode == 0 and "--transport" in proc.stdout, proc.stderr
    proc = _run(env, "mcp", "--index", tmp_path / "none")
    assert proc.returncode == 4
    assert "pip install 'latentsearch[mcp]'" in " ".join(proc.stderr.split())


def test_a_bad_transport_is_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = _run(env, "mcp", "--index", tmp_path, "--transport", "carrier-pigeon")
    assert proc.returncode == 2 and "--transport must be stdio or http" in proc.stderr
