"""A seeded slapd per test (starting one takes a fraction of a second)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ldapkit import Slapd, running_slapd


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    with running_slapd(tmp_path / "slapd") as server:
        server.seed()
        yield server
