"""The load test's CI-sized run: concurrent clients, 2 workers on PostgreSQL, zero errors, no lost write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


def test_load_test_short_run(tmp_path: Path, pg_admin) -> None:
    from pgkit import PG_URL

    out = tmp_path / "load.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load_test.py"),
            "--short",
            "--database",
            PG_URL,
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["errors"] == 0 and result["missing"] == 0
    assert result["requests"] > 20 and result["writes"] > 0
    assert "| all |" in run.stdout
