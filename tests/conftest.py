"""Shared fixtures: every store test runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from sqlalchemy import create_engine, text

import latentsearch as ls

PG_URL = os.environ.get("LATENTSEARCH_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


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
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


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
def tiny_clip_path(tmp_path_factory) -> Path:
    """A tiny CLIP model, trained in seconds on coloured shapes (see latentsearch/tinyclip.py)."""
    from latentsearch.tinyclip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("models") / "tiny-clip")
