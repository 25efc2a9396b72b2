"""Without the ``server`` extra the command line still starts, and ``serve`` says what to install.

FastAPI and uvicorn are installed in the test environment, so a folder put first on PYTHONPATH
shadows them with packages whose import fails, as it would where they are missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HINT = "pip install 'latentsearch[server]'"


@pytest.fixture
def no_server(tmp_path: Path) -> dict[str, str]:
    blocked = tmp_path / "blocked"
    for name in ("fastapi", "uvicorn"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(
            f'raise ImportError("No module named {name!r} (blocked by the test)")\n'
        )
    return {**os.environ, "PYTHONPATH": f"{blocked}{os.pathsep}{ROOT}", "HF_HUB_OFFLINE": "1"}


def run(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def test_the_blocker_works(no_server: dict[str, str]) -> None:
    proc = run(no_server, "fastapi")
    assert proc.returncode != 0 and "blocked by the test" in proc.stderr


def test_help_and_other_commands_work_without_fastapi(
    no_server: dict[str, str], tmp_path: Path
) -> None:
    proc = run(no_server, "latentsearch", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "serve" in proc.stdout and "search" in proc.stdout
    proc = run(no_server, "latentsearch", "serve", "--help")
    assert proc.returncode == 0 and "--port" in proc.stdout, proc.stderr
    proc = run(no_server, "latentsearch", "info", "--index", tmp_path / "none")
    assert proc.returncode == 3 and "no index at" in proc.stderr  # ran, and found no index


@pytest.mark.parametrize("module", ["latentsearch", "latentsearch.server.cli"])
def test_serve_names_the_extra_to_install(
    no_server: dict[str, str], tmp_path: Path, module: str
) -> None:
    proc = run(no_server, module, "serve", "--index", tmp_path / "idx", "--port", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    message = " ".join(proc.stderr.split())
    assert "latentsearch serve needs the server extra" in message
    assert "fastapi and uvicorn cannot be imported" in message and HINT in message
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "idx").exists()  # failed before touching anything


def test_the_error_is_typed() -> None:
    from latentsearch.errors import LatentSearchError, MissingExtraError

    assert issubclass(MissingExtraError, LatentSearchError)
    assert issubclass(MissingExtraError, ImportError)
