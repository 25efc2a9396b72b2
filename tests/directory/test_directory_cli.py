"""`latentsearch directory sync|status|users|forget` and `keys create` with a directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ldapkit import BASE, Slapd
from typer.testing import CliRunner

import latentsearch as ls
from latentsearch.cli import app

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == code, r.output
    return r.stdout


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "idx"
    ls.connect(path, device="cpu").close()
    return path


def test_groups_file_sync_status_users_and_keys(index: Path, tmp_path: Path) -> None:
    i = ["--index", str(index)]
    # before any directory: keys keep the old behaviour (groups frozen, none given: none)
    old = json.loads(run("keys", "create", "--user", "root", "--role", "admin", "--json", *i))
    assert old["groups_from"] == "key"
    groups = tmp_path / "groups.csv"
    groups.write_text("alice,eng\ngroup:platform,eng\ncarol,platform\n")
    made = json.loads(run("directory", "sync", "--groups-file", str(groups), "--json", *i))
    assert made == [
        {
            "source": "groups-file",
            "users": 2,
            "disabled": 0,
            "groups": 2,
            "memberships": 3,
            "skipped": [],
        }
    ]
    assert "2 users (0 disabled), 2 groups" in run(
        "directory", "sync", "--groups-file", str(groups), *i
    )
    [status] = json.loads(run("directory", "status", "--json", *i))
    assert (status["name"], status["kind"], status["users"], status["error"]) == (
        "groups-file",
        "file",
        2,
        None,
    )
    assert "groups-file" in run("directory", "status", *i)
    users = json.loads(run("directory", "users", "--json", *i))
    assert [(u["user"], u["groups"]) for u in users] == [
        ("alice", ["eng"]),
        ("carol", ["eng", "platform"]),
    ]
    assert "carol" in run("directory", "users", "--group", "platform", *i)
    key = json.loads(run("keys", "create", "--user", "carol", "--json", *i))
    assert (key["groups_from"], key["groups"]) == ("directory", [])
    fixed = json.loads(run("keys", "create", "--user", "ci", "--no-directory", "--json", *i))
    assert fixed["groups_from"] == "key"
    frozen = json.loads(run("keys", "create", "--user", "dan", "-g", "eng", "--json", *i))
    assert (frozen["groups_from"], frozen["groups"]) == ("key", ["eng"])
    assert "(directory)" in run("keys", "list", *i)
    # a user the directory does not list cannot get a directory key
    r = runner.invoke(app, ["keys", "create", "--user", "zed", *i])
    assert r.exit_code == 1 and "not in the synced directory" in r.output
    r = runner.invoke(app, ["keys", "create", "--user", "alice", "--directory", "-g", "x", *i])
    assert r.exit_code == 1 and "--group freezes" in r.output
    run("directory", "forget", "groups-file", *i)
    assert json.loads(run("directory", "status", "--json", *i)) == []
    run("directory", "forget", "groups-file", *i, code=3)


def test_sync_errors_exit_codes(index: Path, tmp_path: Path, slapd: Slapd) -> None:
    i = ["--index", str(index)]
    run("directory", "sync", *i, code=2)  # no source given
    run("directory", "sync", "--ldap-url", slapd.url, *i, code=2)  # no --base-dn
    groups = tmp_path / "g.csv"
    groups.write_text("a,b\n")
    r = runner.invoke(
        app, ["directory", "sync", "--groups-file", str(groups), "--user-filter", "(x=y)", *i]
    )
    assert r.exit_code == 2 and "--user-filter only apply with --ldap-url" in r.output
    run("directory", "sync", "--groups-file", str(tmp_path / "missing.csv"), *i, code=2)
    run("directory", "status", "--index", str(tmp_path / "none"), code=3)
    ok = json.loads(
        run(
            "directory",
            "sync",
            "--ldap-url",
            slapd.url,
            "--base-dn",
            BASE,
            "--source",
            "corp",
            "--json",
            *i,
        )
    )
    assert ok[0]["source"] == "corp" and ok[0]["users"] == 4
    r = runner.invoke(
        app,
        [
            "directory",
            "sync",
            "--ldap-url",
            slapd.url,
            "--base-dn",
            BASE,
            "--source",
            "corp",
            "--bind-dn",
            "cn=admin,dc=example,dc=com",
            "--password-env",
            "NO_SUCH_TEST_VAR",
            *i,
        ],
    )
    assert r.exit_code == 4 and "NO_SUCH_TEST_VAR" in r.output
    status = {s["name"]: s for s in json.loads(run("directory", "status", "--json", *i))}
    assert status["corp"]["users"] == 4 and "NO_SUCH_TEST_VAR" in status["corp"]["error"]
    # the missing groups file was tried too: never synced, its error kept
    assert (
        status["groups-file"]["synced"] is None
        and "does not exist" in status["groups-file"]["error"]
    )
    assert "never synced" in run("directory", "status", *i)
    toml = tmp_path / "sources.toml"
    toml.write_text(
        f'[[directory]]\nname = "corp"\ntype = "ldap"\nurl = "{slapd.url}"\nbase_dn = "{BASE}"\n'
        '[[directory]]\nname = "team"\ntype = "groups-file"\npath = "g.csv"\n'
    )
    (tmp_path / "g.csv").write_text("zoe,eng\n")
    done = json.loads(run("directory", "sync", "--config", str(toml), "--json", *i))
    assert [d["source"] for d in done] == ["corp", "team"]
    only = json.loads(
        run("directory", "sync", "--config", str(toml), "--source", "team", "--json", *i)
    )
    assert [d["source"] for d in only] == ["team"]
    users = {u["user"]: u["groups"] for u in json.loads(run("directory", "users", "--json", *i))}
    assert users["zoe"] == ["eng"] and users["alice"] == ["eng"]
