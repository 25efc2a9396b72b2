"""API keys: stored hashed, one principal set and role each, revocable; the `keys` CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import latentsearch as ls
from latentsearch.errors import InvalidInputError, NotFoundError
from latentsearch.server import keystore
from latentsearch.server.cli import standalone


def test_keys_are_stored_hashed_and_map_to_principals(db: ls.Database) -> None:
    with db.store.transaction() as s:
        new = keystore.create_key(s, "alice", ["eng", "ops", "eng"], "writer", note="ci")
    assert new.key.startswith("ls_") and len(new.key) > 40
    with db.store.session() as s:
        rows = s.scalars(select(keystore.ApiKeyRow)).all()
        assert len(rows) == 1 and new.key not in {str(v) for v in vars(rows[0]).values()}
        assert rows[0].key_hash == keystore.hash_key(new.key)
        info = keystore.authenticate(s, new.key)
    assert info is not None and info.principals == ["user:alice", "group:eng", "group:ops"]
    assert (info.role, info.note, info.groups) == ("writer", "ci", ("eng", "ops"))
    with db.store.session() as s:
        assert keystore.authenticate(s, new.key + "x") is None
        assert keystore.authenticate(s, "not-a-key") is None


def test_revoked_keys_stop_working(db: ls.Database) -> None:
    with db.store.transaction() as s:
        a = keystore.create_key(s, "a", [], "reader")
        b = keystore.create_key(s, "b", ["x"], "admin")
    with db.store.transaction() as s:
        keystore.revoke_key(s, a.info.key_id)
        keystore.revoke_key(s, a.key)  # the full key works too; twice is harmless
    with db.store.session() as s:
        assert keystore.authenticate(s, a.key) is None
        assert keystore.authenticate(s, b.key) is not None
        assert [k.user for k in keystore.list_keys(s)] == ["b"]
        assert [k.user for k in keystore.list_keys(s, include_revoked=True)] == ["a", "b"]
    with pytest.raises(NotFoundError), db.store.transaction() as s:
        keystore.revoke_key(s, "nope")


@pytest.mark.parametrize(
    ("user", "groups", "role"),
    [("", [], "reader"), ("a b", [], "reader"), ("a", ["g h"], "reader"), ("a", [], "root")],
)
def test_bad_keys_are_refused(db: ls.Database, user: str, groups: list[str], role: str) -> None:
    with pytest.raises(InvalidInputError), db.store.transaction() as s:
        keystore.create_key(s, user, groups, role)
    with db.store.session() as s:
        assert keystore.list_keys(s, include_revoked=True) == []


def test_keys_cli(index_path, database) -> None:
    runner = CliRunner()
    base = ["--index", str(index_path)] + (["--database", database] if database else [])
    r = runner.invoke(
        standalone,
        ["keys", "create", "--user", "alice", "--group", "eng", "--role", "reader", *base],
    )
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[0]
    r = runner.invoke(
        standalone, ["keys", "create", "--user", "bob", "--role", "admin", "--json", *base]
    )
    made = json.loads(r.stdout)
    assert made["role"] == "admin" and made["key"].startswith("ls_")
    listed = json.loads(runner.invoke(standalone, ["keys", "list", "--json", *base]).stdout)
    assert [(k["user"], k["groups"], k["role"]) for k in listed] == [
        ("alice", ["eng"], "reader"),
        ("bob", [], "admin"),
    ]
    assert key not in json.dumps(listed)
    assert runner.invoke(standalone, ["keys", "revoke", listed[0]["key_id"], *base]).exit_code == 0
    assert [
        k["user"]
        for k in json.loads(runner.invoke(standalone, ["keys", "list", "--json", *base]).stdout)
    ] == ["bob"]
    table = runner.invoke(standalone, ["keys", "list", "--all", *base]).stdout
    assert "alice" in table and "bob" in table
    bad = runner.invoke(standalone, ["keys", "create", "--user", "carol", "--role", "root", *base])
    assert bad.exit_code != 0 and "role must be one of" in bad.output
    assert runner.invoke(standalone, ["keys", "revoke", "nope", *base]).exit_code == 1
