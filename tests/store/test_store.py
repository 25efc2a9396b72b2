"""The SQL schema: Alembic migrations and SQLAlchemy models agree on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import latentsearch as ls
import latentsearch.connectors.tables
import latentsearch.ingest.tables
import latentsearch.server.keystore
from latentsearch.store.keyword import include_name
from latentsearch.store.models import Base


def test_migrations_match_models(db: ls.Database) -> None:
    with db.store.engine.connect() as conn:
        # include_name leaves out the dialect-specific keyword index (FTS5 / tsvector), which no ORM model describes.
        opts = {"compare_type": True, "include_name": include_name}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []
    tables = set(inspect(db.store.engine).get_table_names())
    assert {
        "ls_collections",
        "ls_items",
        "ls_item_principals",
        "ls_vectors",
        "ls_tombstones",
        "alembic_version",
    } <= tables


def test_sqlite_is_wal_with_foreign_keys(index_path) -> None:
    with ls.connect(index_path) as db, db.store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (index_path / "latentsearch.db").exists()


def test_metadata_is_jsonb_on_postgres(pg_url, index_path) -> None:
    with ls.connect(index_path, database=pg_url) as db:
        cols = {c["name"]: c for c in inspect(db.store.engine).get_columns("ls_items")}
        assert type(cols["metadata"]["type"]).__name__ == "JSONB"


def test_dropping_a_collection_removes_rows_and_files(db: ls.Database) -> None:
    import numpy as np

    col = db.create_collection("raw", dim=2)
    col.add(vectors=np.eye(2), ids=["a", "b"], acl=[["u:1"], ["*"]])
    assert list(db.path.glob("collection-*"))
    db.drop_collection("raw")
    assert not list(db.path.glob("collection-*"))
    with db.store.engine.connect() as conn:
        for table in ("ls_items", "ls_item_principals", "ls_vectors"):
            assert conn.execute(text(f"select count(*) from {table}")).scalar() == 0
