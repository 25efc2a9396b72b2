"""The files source with POSIX permissions: real chmod and chown in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from synckit import Counting

import latentsearch as ls
from latentsearch.connectors.config import SourceConfig
from latentsearch.connectors.runner import sync_source

# Giving files to other users (chown) needs root, as CI runs; the test without POSIX mapping
# needs no other owner and runs as anyone.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to other users needs root")


def _write(
    path: Path, text: str, mode: int, uid: int | None = None, gid: int | None = None
) -> None:
    path.write_text(text, encoding="utf-8")
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    os.chmod(path, mode)


def _visible(col: ls.Collection, principal: str) -> set[str]:
    return {h.id for h in col.search("handbook policy", k=20, principals=[principal])}


@needs_root
def test_posix_owner_group_and_mode_become_principals(
    tmp_path: Path, index: ls.Database, counted: Counting
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    _write(docs / "public.md", "# Handbook\n\nThe public travel policy.", 0o644)
    _write(docs / "team.md", "# Team\n\nThe team's on-call handbook.", 0o640, 1, 1)  # daemon:daemon
    _write(docs / "private.md", "# Notes\n\nNobody's private policy notes.", 0o600, 65534, 65534)
    _write(docs / "locked.md", "# Locked\n\nA policy no one may read.", 0o000)
    (docs / "image.bin").write_bytes(b"\x00")  # unsupported types are skipped, as in build
    src = SourceConfig(
        name="fs",
        type="files",
        collection="docs",
        settings={"paths": [str(docs)], "posix_permissions": True},
    )
    res = sync_source(index, src)
    assert (res.status, res.added, res.failed) == ("done", 3, 0), res.errors
    col = index.collection("docs")
    assert _visible(col, "user:someone") == {"fs:public.md"}
    assert _visible(col, "group:daemon") == {"fs:public.md", "fs:team.md"}
    assert _visible(col, "user:daemon") == {"fs:public.md", "fs:team.md"}
    assert _visible(col, "user:nobody") == {"fs:public.md", "fs:private.md"}
    assert _visible(col, "group:nogroup") == {"fs:public.md"}
    assert "fs:locked.md" not in {h.id for h in col.search("policy", k=20)}

    # Nothing changed: nothing is read or embedded.
    before = counted.texts
    res = sync_source(index, src)
    assert (res.added, res.updated, res.deleted, counted.texts) == (0, 0, 0, before)

    # The group loses read access; the owner's file becomes unreadable; one file is deleted.
    os.chmod(docs / "team.md", 0o600)
    os.chmod(docs / "private.md", 0o000)
    (docs / "public.md").unlink()
    res = sync_source(index, src)
    assert (res.updated, res.deleted) == (1, 2), res
    assert counted.texts == before  # a permission change re-embeds nothing
    assert _visible(col, "group:daemon") == set()
    assert _visible(col, "user:daemon") == {"fs:team.md"}
    assert _visible(col, "user:nobody") == set()
    assert len(col) == 1

    # World-readable again: everyone sees it.
    os.chmod(docs / "team.md", 0o604)
    sync_source(index, src)
    assert _visible(col, "user:someone") == {"fs:team.md"}


def test_without_posix_permissions_the_collection_default_applies(
    tmp_path: Path, index: ls.Database, counted: Counting
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    _write(docs / "a.md", "# A\n\nA handbook page.", 0o600)
    (docs / "b.txt").write_bytes(b"\x00\x01 not text")
    src = SourceConfig(name="fs", type="files", collection="docs", settings={"paths": str(docs)})
    res = sync_source(index, src)
    assert (res.added, res.failed) == (1, 1)
    assert _visible(index.collection("docs"), "user:anyone") == {"fs:a.md"}
