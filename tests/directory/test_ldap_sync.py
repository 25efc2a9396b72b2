"""Directory sync from a real slapd (tests/ldapkit.py): users, groups, nested groups, disabled
users, and a failing sync that leaves the previous state (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from ldapkit import BASE, PEOPLE, ROOT_DN, ROOT_PW, Slapd

import latentsearch as ls
from latentsearch.directory import (
    accounts,
    groups_of,
    ldap_source,
    lookup,
    sources,
    sync,
)
from latentsearch.directory import state as dstate
from latentsearch.errors import DirectoryError, InvalidInputError

DISABLED = "(employeeType=disabled)"


def corp(slapd: Slapd, **settings: object) -> ls.directory.DirectorySource:  # type: ignore[name-defined]
    return ldap_source("corp", url=slapd.url, base_dn=BASE, disabled_filter=DISABLED, **settings)


def test_ldap_users_groups_and_nested_groups(db: ls.Database, slapd: Slapd) -> None:
    result = sync(db, corp(slapd))
    assert (result.users, result.groups, result.disabled) == (4, 5, 0)
    assert result.skipped == ()
    alice = lookup(db, "alice")
    assert alice is not None and alice.display_name == "Alice Liddell" and not alice.disabled
    assert alice.groups == ("eng",)
    # carol is in platform, and platform is a member of eng.
    assert groups_of(db, "carol") == ("eng", "platform")
    # a nesting cycle ends: erin is in loop-b, loop-b in loop-a, loop-a in loop-b.
    assert groups_of(db, "erin") == ("loop-a", "loop-b")
    assert lookup(db, "nobody") is None and groups_of(db, "nobody") == ()
    assert [a.name for a in accounts(db, group="eng")] == ["alice", "carol"]
    [status] = sources(db)
    assert (status.name, status.kind, status.users, status.error) == ("corp", "ldap", 4, None)
    assert status.location == f"{slapd.url}/{BASE}"


def test_membership_changes_and_disabling_show_after_the_next_sync(
    db: ls.Database, slapd: Slapd
) -> None:
    sync(db, corp(slapd))
    slapd.add_member("eng", "erin")  # groupOfNames may not be left empty
    slapd.remove_member("eng", "alice")
    slapd.remove_member("eng", "group:platform")
    slapd.set_disabled("bob", True)
    assert lookup(db, "alice").groups == ("eng",)  # type: ignore[union-attr]  # not synced yet
    sync(db, corp(slapd))
    assert lookup(db, "alice").groups == ()  # type: ignore[union-attr]
    assert groups_of(db, "carol") == ("platform",)
    bob = lookup(db, "bob")
    assert bob is not None and bob.disabled and bob.groups == ("sales",)
    slapd.add_member("eng", "alice")
    slapd.set_disabled("bob", False)
    slapd.delete_user("erin")
    sync(db, corp(slapd))
    assert lookup(db, "alice").groups == ("eng",)  # type: ignore[union-attr]
    assert not lookup(db, "bob").disabled  # type: ignore[union-attr]
    assert lookup(db, "erin") is None


def test_bind_with_the_password_from_the_environment(
    db: ls.Database, slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_LDAP_PW", ROOT_PW)
    sync(db, corp(slapd, bind_dn=ROOT_DN, password_env="TEST_LDAP_PW"))
    assert groups_of(db, "bob") == ("sales",)


def test_a_failing_sync_leaves_the_previous_directory(
    db: ls.Database, slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync(db, corp(slapd))
    before = accounts(db)
    slapd.remove_member("eng", "alice")
    monkeypatch.setenv("TEST_LDAP_PW", "wrong")
    with pytest.raises(DirectoryError, match="bind as cn=admin"):
        sync(db, corp(slapd, bind_dn=ROOT_DN, password_env="TEST_LDAP_PW"))
    monkeypatch.delenv("TEST_LDAP_PW")
    with pytest.raises(DirectoryError, match="TEST_LDAP_PW"):
        sync(db, corp(slapd, bind_dn=ROOT_DN, password_env="TEST_LDAP_PW"))
    with pytest.raises(DirectoryError, match=r"noSuchObject|No such object"):
        sync(db, corp(slapd, user_base=f"ou=nowhere,{BASE}"))
    assert accounts(db) == before
    [status] = sources(db)
    assert status.synced is not None and status.failed is not None
    assert status.error is not None and "ou=nowhere" in status.error
    # the server goes away: still the previous state, and a clear error
    url = slapd.url
    slapd.proc.terminate()
    slapd.proc.wait(10)
    with pytest.raises(DirectoryError, match=r"LDAP ldap://127\.0\.0\.1"):
        sync(db, ldap_source("corp", url=url, base_dn=BASE, timeout=2))
    assert accounts(db) == before


def test_replace_is_one_transaction(db: ls.Database, slapd: Slapd) -> None:
    """A sync that fails after writing part of the new state leaves none of it."""
    sync(db, corp(slapd))
    before = accounts(db)
    empty = ls.directory.Snapshot()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError), db.store.transaction() as s:
        dstate.replace(s, "corp", "ldap", None, empty)
        assert dstate.accounts(s) == []  # written, inside the transaction
        raise RuntimeError("the sync dies here")
    assert accounts(db) == before


def test_skipped_members_and_bad_settings(db: ls.Database, slapd: Slapd) -> None:
    # users outside the user base: members that are neither a synced user nor a group are noted
    result = sync(db, corp(slapd, user_filter="(uid=alice)"))
    assert result.users == 1
    assert any("uid=bob" in note for note in result.skipped)
    assert groups_of(db, "alice") == ("eng",)
    # an entry whose name cannot be a principal is skipped with a note, not the whole sync
    slapd.set_attribute("erin", "description", ["x" * 300])
    result = sync(db, corp(slapd, user_attribute="description"))
    assert result.users == 0 and len(result.skipped) >= 4
    assert any("uid=erin" in n and "1-256 characters" in n for n in result.skipped)
    assert any("uid=alice" in n and "no description" in n for n in result.skipped)
    with pytest.raises(InvalidInputError, match="ldap://"):
        ldap_source("x", url="http://example.com", base_dn=BASE)
    with pytest.raises(InvalidInputError, match="parentheses"):
        ldap_source("x", url=slapd.url, base_dn=BASE, user_filter="uid=alice")
    with pytest.raises(InvalidInputError, match="unknown LDAP setting"):
        ldap_source("x", url=slapd.url, base_dn=BASE, bind_password="nope")


def test_member_uid_groups(db: ls.Database, slapd: Slapd) -> None:
    """posixGroup-style groups list user names (here: description values stand in for memberUid,
    which needs the nis schema)."""
    conn = slapd.connection()
    try:
        conn.add(
            f"cn=ops,ou=groups,{BASE}",
            ["groupOfNames"],
            {"cn": "ops", "member": [f"uid=bob,{PEOPLE}"], "description": ["alice", "ghost"]},
        )
    finally:
        conn.unbind()
    result = sync(
        db,
        corp(
            slapd,
            group_filter="(cn=ops)",
            member_attribute="description",
            members_are_dns=False,
        ),
    )
    assert groups_of(db, "alice") == ("ops",) and groups_of(db, "bob") == ()
    assert any("ghost" in note for note in result.skipped)
