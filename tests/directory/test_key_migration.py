"""Keys made before directory sync (revision 0006) keep their frozen groups after the upgrade to
0007, on SQLite and PostgreSQL; downgrading removes the directory tables again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from latentsearch.server import keystore
from latentsearch.store.engine import MIGRATIONS, make_engine, migrate
from latentsearch.store.models import utcnow


def _alembic(conn) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def test_old_keys_keep_their_groups(tmp_path: Path, database: str | None) -> None:
    engine = make_engine(database or f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic(conn), "0006_item_values")
            key = "ls_0123456789ab_" + "x" * 43
            conn.execute(
                text(
                    'INSERT INTO ls_api_keys (key_id, key_hash, "user", groups, role, created) '
                    "VALUES ('0123456789ab', :h, 'alice', :g, 'reader', :c)"
                ),
                {"h": keystore.hash_key(key), "g": '["eng"]', "c": utcnow()},
            )
        migrate(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"ls_directory_users", "ls_directory_members"} <= tables
        with Session(engine) as s:
            info = keystore.authenticate(s, key)
        assert info is not None and (info.groups_from, info.groups) == ("key", ("eng",))
        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0006_item_values")
        assert "ls_directory_users" not in set(inspect(engine).get_table_names())
        cols = {c["name"] for c in inspect(engine).get_columns("ls_api_keys")}
        assert "groups_from" not in cols
    finally:
        engine.dispose()
