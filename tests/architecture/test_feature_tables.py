"""Feature tables live with their feature: store/ knows only the core tables, yet its migrations
still create every table (API keys for server/, build state for ingest/), as the models say."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect
from sqlalchemy.orm import Session

import latentsearch as ls
import latentsearch.connectors.tables
import latentsearch.ingest.tables
import latentsearch.server.keystore
from latentsearch.ingest import state
from latentsearch.server import keystore
from latentsearch.store import snapshot
from latentsearch.store.engine import make_engine, migrate
from latentsearch.store.keyword import include_name
from latentsearch.store.models import Base

PACKAGE = Path(ls.__file__).parent
STORE = PACKAGE / "store"
# Layers above the store: store/ must import none of them.
ABOVE = ("ingest", "server", "query", "evaluation", "cli", "core", "collection", "db")
CORE_TABLES = {
    "ls_collections",
    "ls_items",
    "ls_item_principals",
    "ls_vectors",
    "ls_tombstones",
    "ls_item_values",
    "ls_directions",
}
FEATURE_MODULES = {
    "latentsearch.ingest.tables",
    "latentsearch.server.keystore",
    "latentsearch.connectors.tables",
}
FEATURE_TABLES = {
    "ls_api_keys": latentsearch.server.keystore.ApiKeyRow,
    "ls_ingest_builds": latentsearch.ingest.tables.BuildRow,
    "ls_ingest_files": latentsearch.ingest.tables.SourceFileRow,
    "ls_ingest_docs": latentsearch.ingest.tables.SourceDocRow,
    "ls_sync_sources": latentsearch.connectors.tables.SyncSourceRow,
    "ls_sync_records": latentsearch.connectors.tables.SyncRecordRow,
}


def _store_modules() -> list[Path]:
    return sorted(STORE.rglob("*.py"))


def _imported(tree: ast.AST) -> list[str]:
    """Every module name an import statement names (``from a import b`` gives ``a`` and ``a.b``)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_store_imports_no_layer_above_it() -> None:
    bad = []
    for path in _store_modules():
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            if parts[0] == "latentsearch" and len(parts) > 1 and parts[1] in ABOVE:
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert bad == []


def test_store_models_only_the_core_tables() -> None:
    tables = set()
    for path in _store_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                tables.add(node.value.value)
    assert tables == CORE_TABLES
    assert {t for t, model in FEATURE_TABLES.items() if model.__tablename__ == t} == set(
        FEATURE_TABLES
    )


def test_migrations_create_the_feature_tables_without_their_models(tmp_path: Path) -> None:
    """A fresh store, opened by a process that never imports a feature module, has them all."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = (
        "import json, sys\n"
        "from sqlalchemy import inspect\n"
        "from latentsearch.store import Store\n"
        f"store = Store({url!r})\n"
        "print(json.dumps({'tables': inspect(store.engine).get_table_names(),\n"
        "  'features_imported': [m for m in ('latentsearch.ingest.tables',\n"
        "  'latentsearch.server.keystore', 'latentsearch.ingest.state',\n  'latentsearch.connectors.tables') if m in sys.modules]}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["features_imported"] == []
    assert set(FEATURE_TABLES) | CORE_TABLES <= set(seen["tables"])


def test_feature_tables_match_their_models(db: ls.Database) -> None:
    """On SQLite and PostgreSQL: the migrated feature tables are what their models describe
    (columns, types, indexes, constraints)."""

    def feature_object(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        return type_ != "table" or name in FEATURE_TABLES

    def feature_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table":
            return name in FEATURE_TABLES
        return bool(include_name(name, type_, parent_names))

    assert set(FEATURE_TABLES) <= set(inspect(db.store.engine).get_table_names())
    with db.store.engine.connect() as conn:
        opts = {
            "compare_type": True,
            "include_name": feature_name,
            "include_object": feature_object,
        }
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []


def test_feature_tables_travel_with_a_backup(tmp_path: Path, database: str | None) -> None:
    """API keys and build state are in the backup, and a forced restore puts them back as they
    were (on PostgreSQL: the dump lists them, and the restore empties them before loading)."""
    src = tmp_path / "idx"
    with ls.connect(src, database=database, device="cpu") as db:
        col = db.create_collection("v", dim=4)
        col.add(ids=["x"], vectors=np.eye(4)[:1])
        with db.store.transaction() as s:
            key = keystore.create_key(s, "alice", ["eng"], role="writer")
            build = state.start_build(s, col.id, ["docs/"])
    out = tmp_path / "b.tar"
    # In a process that never imports the feature modules, as a program calling ls.backup.
    code = (
        "import sys, latentsearch as ls\n"
        f"ls.backup({str(src)!r}, {str(out)!r}, database={database!r})\n"
        f"assert not {FEATURE_MODULES!r} & set(sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    with ls.connect(src, database=database, device="cpu") as db, db.store.transaction() as s:
        keystore.revoke_key(s, key.info.key_id)
        keystore.create_key(s, "mallory")
        s.execute(delete(latentsearch.ingest.tables.BuildRow))
    assert ls.restore(out, src, database=database, force=True).ok
    with ls.connect(src, database=database, device="cpu") as db, db.store.session() as s:
        keys = keystore.list_keys(s, include_revoked=True)
        assert [k.key_id for k in keys] == [key.info.key_id] and keys[0].active
        assert keystore.authenticate(s, key.key) is not None
        last = state.last_build(s, db.collection("v").id)
        assert last is not None and last.id == build and last.sources == ["docs/"]


@pytest.mark.postgres
def test_a_schema_holding_only_api_keys_is_not_empty(pg_url: str) -> None:
    """A restore without --force refuses a schema that holds keys but no collection."""
    engine = make_engine(pg_url)
    try:
        migrate(engine)
        assert snapshot.pg_is_empty(engine)
        with Session(engine) as s, s.begin():
            keystore.create_key(s, "alice")
        assert not snapshot.pg_is_empty(engine)
    finally:
        engine.dispose()
