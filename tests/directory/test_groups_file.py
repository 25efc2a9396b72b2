"""The groups-file source (CSV and JSON), the TOML config model, and directory keys resolved
through the cache (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import latentsearch as ls
from latentsearch.directory import (
    AccountCache,
    accounts,
    file_source,
    from_table,
    groups_of,
    lookup,
    sources,
    sources_from_toml,
    sync,
)
from latentsearch.errors import InvalidInputError, InvalidTextError
from latentsearch.server import keystore
from latentsearch.server.principals import resolve

CSV = """user,group
# the platform team is part of engineering
alice,eng
group:platform,eng
carol,platform
bob,sales
"""


def test_csv_and_json_groups_files(db: ls.Database, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(CSV)
    result = sync(db, file_source(path))
    assert (result.users, result.groups, result.memberships) == (3, 3, 4)
    assert groups_of(db, "carol") == ("eng", "platform")
    assert [a.name for a in accounts(db, group="eng")] == ["alice", "carol"]
    data = {"eng": ["alice", "group:platform"], "platform": ["user:carol", "dave"], "empty": []}
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(data))
    sync(db, file_source(path, "team"))
    assert groups_of(db, "dave") == ("eng", "platform")
    assert {s.name: s.groups for s in sources(db)} == {"groups-file": 3, "team": 3}
    # both sources list alice: her groups are the union, her sources both
    alice = lookup(db, "alice")
    assert alice is not None and alice.sources == ("groups-file", "team")


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("g.csv", "alice\n", "line 1: expected 'user,group'"),
        ("g.csv", "alice,eng,extra\n", "line 1"),
        ("g.csv", " ,eng\n", "line 1"),
        ("g.json", '{"eng": [" alice"]}', "without surrounding spaces"),
        ("g.json", "[1, 2]", "give an object"),
        ("g.json", '{"eng": "alice"}', "list of member names"),
        ("g.json", "{bad json", "not valid JSON"),
        ("g.json", '{"eng": ["al\\u0000ice"]}', "NUL"),
        ("g.json", '{"eng": ["a\\ud800"]}', "surrogate"),
        ("g.yaml", "eng: [alice]", "name a .csv"),
    ],
)
def test_bad_groups_files_change_nothing(
    db: ls.Database, tmp_path: Path, name: str, text: str, error: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("alice,eng\n")
    sync(db, file_source(good, "team"))
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises((InvalidInputError, InvalidTextError), match=error):
        sync(db, file_source(bad, "team"))
    assert groups_of(db, "alice") == ("eng",)
    [status] = sources(db)
    assert status.error is not None and status.synced is not None


def test_missing_file(db: ls.Database, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        sync(db, file_source(tmp_path / "nope.csv"))
    assert accounts(db) == []


def test_directory_keys_follow_the_file(db: ls.Database, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(CSV)
    sync(db, file_source(path))
    with db.store.transaction() as s:
        carol = keystore.create_key(s, "carol", groups_from="directory").info
        fixed = keystore.create_key(s, "svc", ["eng"]).info
    cache = AccountCache(0)
    now = resolve(db, cache, carol)
    assert now is not None and now.principals == ["user:carol", "group:eng", "group:platform"]
    assert resolve(db, cache, fixed) == fixed  # not in the directory: its frozen groups
    path.write_text("alice,eng\ncarol,sales\n")
    sync(db, file_source(path))
    now = resolve(db, cache, carol)
    assert now is not None and now.groups == ("sales",)
    path.write_text("alice,eng\n")  # carol removed from the file: deleted
    sync(db, file_source(path))
    assert resolve(db, cache, carol) is None
    with pytest.raises(InvalidInputError, match="directory key"), db.store.transaction() as s:
        keystore.create_key(s, "carol", ["eng"], groups_from="directory")


def test_the_cache_keeps_an_answer_for_its_ttl(db: ls.Database, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("alice,eng\n")
    sync(db, file_source(path))
    with db.store.transaction() as s:
        key = keystore.create_key(s, "alice", groups_from="directory").info
    clock = [100.0]
    cache = AccountCache(30, clock=lambda: clock[0])
    assert resolve(db, cache, key).groups == ("eng",)  # type: ignore[union-attr]
    path.write_text("alice,sales\n")
    sync(db, file_source(path))
    clock[0] += 29
    assert resolve(db, cache, key).groups == ("eng",)  # type: ignore[union-attr]
    clock[0] += 1
    assert resolve(db, cache, key).groups == ("sales",)  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        AccountCache(-1)


def test_toml_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "groups.csv").write_text("alice,eng\n")
    toml = tmp_path / "sources.toml"
    toml.write_text(
        """
[[directory]]
name = "corp"
type = "ldap"
url = "ldap://ldap.example.com"
base_dn = "dc=example,dc=com"
bind_dn = "cn=reader,dc=example,dc=com"
disabled_filter = "(employeeType=disabled)"

[[directory]]
name = "team"
type = "groups-file"
path = "groups.csv"
schedule = "every 10 minutes"  # left to the sources runner

[[source]]
name = "not ours"
"""
    )
    corp, team = sources_from_toml(toml)
    assert corp.ldap is not None and corp.ldap.bind_dn == "cn=reader,dc=example,dc=com"
    assert corp.ldap.password_env == "LATENTSEARCH_LDAP_PASSWORD"
    assert team.path == tmp_path / "groups.csv" and team.read()[0].users[0].name == "alice"
    with pytest.raises(InvalidInputError, match="password_env"):
        from_table({"type": "ldap", "url": "ldap://x", "base_dn": "dc=x", "password": "p"})
    with pytest.raises(InvalidInputError, match="type"):
        from_table({"type": "ad"})
    with pytest.raises(InvalidInputError, match="base_dn is required"):
        from_table({"type": "ldap", "url": "ldap://x"})
    with pytest.raises(InvalidInputError, match="source name"):
        from_table({"type": "groups-file", "name": "a b", "path": "x.csv"})
    toml.write_text("[[other]]\n")
    with pytest.raises(InvalidInputError, match=r"no \[\[directory\]\]"):
        sources_from_toml(toml)


def test_server_settings_carry_the_ttl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from latentsearch.server import Settings

    env = Settings(index=tmp_path, directory_ttl=0.0).to_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().directory_ttl == 0.0
    monkeypatch.delenv("LATENTSEARCH_DIRECTORY_TTL")
    assert Settings.from_env().directory_ttl == 30.0
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("LATENTSEARCH_DIRECTORY_TTL", bad)
        with pytest.raises(InvalidInputError, match="DIRECTORY_TTL"):
            Settings.from_env()
