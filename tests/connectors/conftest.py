"""Fixtures for the connector tests: source databases on the real PostgreSQL and MariaDB servers
(each test gets a fresh schema or database, dropped after), and an index whose text encoder
counts the texts it embeds (the real model; the count shows what a sync cost)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgkit import pg_schema
from sqlalchemy import create_engine, text
from synckit import Counting

import latentsearch as ls

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh MariaDB database. A server that is down fails the test: it never skips."""
    admin = create_engine(MARIADB, isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}`"))
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE `{name}`"))
        admin.dispose()


@pytest.fixture(params=["postgres", "mariadb"])
def source_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A SQLAlchemy URL of an empty source database, on each real server."""
    if request.param == "postgres":
        with pg_schema(request.getfixturevalue("pg_admin")) as url:
            yield url
    else:
        yield request.getfixturevalue("mariadb_url")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ls.Database]:
    db = ls.connect(tmp_path / "idx", device="cpu")
    yield db
    db.close()


@pytest.fixture
def counted(index: ls.Database) -> Counting:
    """The collection ``docs`` (text model), with its encoder's texts counted."""
    return Counting(index.create_collection("docs", encoder="text"))
