"""`store.heads`: the newest schema revision, found without Alembic, agrees with Alembic; and
anything unsure answers "not at head" so that Alembic decides."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import latentsearch as ls
from latentsearch.store.engine import MIGRATIONS
from latentsearch.store.heads import at_head, head_revision

VERSIONS = MIGRATIONS / "versions"


def test_the_head_is_alembics() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert [head_revision(VERSIONS)] == ScriptDirectory.from_config(cfg).get_heads()


def test_unsure_means_no(tmp_path: Path) -> None:
    assert head_revision(tmp_path) is None  # no scripts at all
    copy = tmp_path / "versions"
    shutil.copytree(VERSIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert head_revision(copy) == head_revision(VERSIONS)
    (copy / "0099_odd.py").write_text("revision = make_revision()\ndown_revision = None\n")
    head_revision.cache_clear()
    assert head_revision(copy) is None  # a script it cannot read: no fast path
    (copy / "0099_odd.py").write_text(
        f'revision: str = "0099_odd"\ndown_revision: str | None = "{head_revision(VERSIONS)}"\n'
    )
    head_revision.cache_clear()
    assert head_revision(copy) == "0099_odd"  # annotated assignments, as newer templates write


def test_at_head_only_for_the_newest_revision(tmp_path: Path) -> None:
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert not at_head(empty, VERSIONS)  # no alembic_version table
    with ls.connect(tmp_path / "idx", device="cpu"):
        pass  # migrated to the head
    engine = create_engine(f"sqlite:///{tmp_path / 'idx' / 'latentsearch.db'}")
    assert at_head(engine, VERSIONS)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0005_keys'"))
    assert not at_head(engine, VERSIONS)  # an older revision: Alembic decides
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO alembic_version VALUES (:v)"), {"v": head_revision(VERSIONS)}
        )
    assert not at_head(engine, VERSIONS)  # two rows (branches): not the plain head either
