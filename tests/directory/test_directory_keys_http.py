"""The issue's end-to-end check, through a real `latentsearch serve` (tests/serverkit.py) and a
real slapd: a directory key's searches follow the user's LDAP groups from one sync to the next,
nested groups count, and disabling a user refuses every key of that user like an unknown key."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from ldapkit import BASE, Slapd
from serverkit import CORPUS, ENG_SECRET, PRIVATE
from typer.testing import CliRunner

import latentsearch as ls
from latentsearch.cli import app
from latentsearch.server import keystore
from latentsearch.testing.server_process import running_server

ENG_DOCS = PRIVATE["group:eng"]
QUERY = {"text": f"{ENG_SECRET} vpn outage runbook", "k": 10}


def _cli(*args: str) -> str:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def _search(url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{url}/collections/docs/search",
        json=QUERY,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def _ids(url: str, key: str) -> set[str]:
    r = _search(url, key)
    assert r.status_code == 200, r.text
    return {h["id"] for h in r.json()["hits"]}


@pytest.mark.slow
def test_ldap_membership_drives_what_a_key_sees(tmp_path: Path, slapd: Slapd) -> None:
    index = tmp_path / "index"
    with ls.connect(index, device="cpu") as db:
        db.create_collection("docs", encoder="text", require_principals=True).add(CORPUS)
        with db.store.transaction() as s:
            legacy = keystore.create_key(s, "alice", ["eng"], "reader").key  # groups frozen
    ldap = ["--index", str(index), "--ldap-url", slapd.url, "--base-dn", BASE]
    ldap += ["--disabled-filter", "(employeeType=disabled)", "--json"]
    synced = json.loads(_cli("directory", "sync", *ldap))
    assert synced[0]["users"] == 4 and synced[0]["groups"] == 5
    # once a directory has synced, `keys create --user` makes a directory key
    made = json.loads(_cli("keys", "create", "--user", "alice", "--index", str(index), "--json"))
    assert made["groups_from"] == "directory" and made["groups"] == []
    alice = made["key"]
    carol = json.loads(_cli("keys", "create", "--user", "carol", "--index", str(index), "--json"))
    bob = json.loads(_cli("keys", "create", "--user", "bob", "--index", str(index), "--json"))
    with running_server(index, extra_args=("--directory-ttl", "0")) as url:
        unknown = _search(url, "ls_000000000000_nope")
        assert _ids(url, alice) >= ENG_DOCS
        assert _ids(url, carol["key"]) >= ENG_DOCS  # carol is in platform, which is in eng
        assert not _ids(url, bob["key"]) & ENG_DOCS
        me = httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {carol['key']}"}).json()
        assert me["principals"] == ["user:carol", "group:eng", "group:platform"]

        slapd.remove_member("eng", "alice")
        assert _ids(url, alice) >= ENG_DOCS  # not synced yet: the directory still says eng
        _cli("directory", "sync", *ldap)
        seen = _ids(url, alice)
        assert seen and not seen & ENG_DOCS  # public documents only
        assert _ids(url, legacy) >= ENG_DOCS  # frozen groups stay

        slapd.add_member("eng", "alice")
        _cli("directory", "sync", *ldap)
        assert _ids(url, alice) >= ENG_DOCS

        slapd.set_disabled("alice", True)
        _cli("directory", "sync", *ldap)
        for key in (alice, legacy):  # every key of alice, directory or frozen
            r = _search(url, key)
            assert (r.status_code, r.json(), r.headers.get("www-authenticate")) == (
                unknown.status_code,
                unknown.json(),
                unknown.headers.get("www-authenticate"),
            ) and r.status_code == 401
            assert (
                httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {key}"}).status_code
                == 401
            )
        assert _ids(url, carol["key"]) >= ENG_DOCS  # others are untouched

        slapd.set_disabled("alice", False)
        slapd.delete_user("carol")
        _cli("directory", "sync", *ldap)
        assert _ids(url, alice) >= ENG_DOCS
        assert _search(url, carol["key"]).status_code == 401  # deleted from the directory
