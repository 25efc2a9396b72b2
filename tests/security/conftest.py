"""Fixtures for the leak property tests (see leakrun.py for how they run, leakkit.py for the oracle)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from full import FULL
from leakrun import CASES, SEED
from pgkit import PG_URL
from query_support import database as open_database

import latentsearch as ls


def pytest_report_header(config: pytest.Config) -> str:
    mode = f"full, seed {SEED}" if FULL else "CI, derandomized"
    return f"leak property tests: {mode}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CASES:
        done = ", ".join(f"{k}: {v}" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"leak property tests, generated cases per database: {done}")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def dbs(
    kind: str, tmp_path_factory: pytest.TempPathFactory, pg_admin: Any
) -> Iterator[tuple[ls.Database, ls.Database]]:
    """The world's database and a second one for its twins (separate keyword statistics)."""
    folder = tmp_path_factory.mktemp("world")
    with (
        open_database(kind, folder / "world", pg_admin, PG_URL) as world,
        open_database(kind, folder / "twins", pg_admin, PG_URL) as twins,
    ):
        yield world, twins
