"""The synced directory travels with a backup, and a forced restore puts it back as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import latentsearch as ls
from latentsearch.directory import file_source, groups_of, sources, sync


def test_directory_travels_with_a_backup(tmp_path: Path, database: str | None) -> None:
    src = tmp_path / "idx"
    groups = tmp_path / "groups.csv"
    groups.write_text("alice,eng\ngroup:eng,staff\n")
    with ls.connect(src, database=database, device="cpu") as db:
        db.create_collection("v", dim=4).add(ids=["x"], vectors=np.eye(4)[:1])
        sync(db, file_source(groups, "team"))
    out = tmp_path / "b.tar"
    ls.backup(src, out, database=database)
    groups.write_text("alice,sales\n")
    with ls.connect(src, database=database, device="cpu") as db:
        sync(db, file_source(groups, "team"))
        assert groups_of(db, "alice") == ("sales",)
    assert ls.restore(out, src, database=database, force=True).ok
    with ls.connect(src, database=database, device="cpu") as db:
        assert groups_of(db, "alice") == ("eng", "staff")
        assert [(s.name, s.memberships) for s in sources(db)] == [("team", 2)]
