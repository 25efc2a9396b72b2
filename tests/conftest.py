"""Shared fixtures: every store test runs on SQLite and on the real PostgreSQL server.

Costly fixtures are session-scoped and built once per run: the tiny CLIP model (trained for
about 20-40 s) and its few-step variant. Tests that run a subprocess pass it the model folder,
which `build_tiny_clip` reuses as is. The shared helper modules (corpus.py, serverkit.py,
query_support.py, pgkit.py, ...) sit beside this file; pyproject's ``pythonpath`` makes them
importable from every test folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from pgkit import PG_URL, pg_schema
from sqlalchemy import create_engine, text

import latentsearch as ls

# The Ray cluster tests run only in the network namespace that test_cluster_suite.py makes.
collect_ignore = [] if os.environ.get("LATENTSEARCH_CLUSTER_NETNS") else ["cluster"]


@pytest.fixture(scope="session")
def pg_admin():
    """An engine on the test server. A server that is down fails the run: it never skips."""
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    with pg_schema(pg_admin) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request) -> str | None:
    """None for the embedded SQLite default, else a PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def db(index_path: Path, database: str | None) -> Iterator[ls.Database]:
    d = ls.connect(index_path, database=database, device="cpu")
    yield d
    d.close()


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny CLIP model (seed 0, default steps), trained once per run on coloured shapes (see
    latentsearch/testing/tinyclip/). Every test of a good CLIP model uses this one folder."""
    from latentsearch.testing.tinyclip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def quick_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CLIP trained for 3 steps only, once per run: for tests that need an image encoder,
    not a good one (`tiny_clip_path` trains for tens of seconds, minutes on a busy machine)."""
    from latentsearch.testing.tinyclip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("quick-models") / "tiny-clip", steps=3)
