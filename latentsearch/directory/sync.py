"""Sync a directory source into an index's database: read it, check it, then replace what that
source said before in one transaction. A source that cannot be read, or says something invalid,
changes nothing but its status line (`directory status` shows the error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentsearch.directory import state
from latentsearch.directory.config import DirectorySource
from latentsearch.directory.model import Account, SourceStatus, SyncResult
from latentsearch.errors import LatentSearchError

if TYPE_CHECKING:
    from latentsearch import Database


def sync(db: Database, source: DirectorySource) -> SyncResult:
    """Replace ``source``'s users, groups and memberships in ``db`` with what it holds now."""
    db.require_writable("sync a directory source")
    try:
        snap, notes = source.read()
        snap.check(f"directory source {source.name!r}")
    except LatentSearchError as exc:
        with db.store.transaction() as s:
            state.record_failure(s, source.name, source.kind, source.location, str(exc))
        raise
    with db.store.transaction() as s:
        result = state.replace(s, source.name, source.kind, source.location, snap)
    return SyncResult(
        source=result.source,
        users=result.users,
        groups=result.groups,
        memberships=result.memberships,
        disabled=result.disabled,
        skipped=tuple(notes),
    )


def lookup(db: Database, user: str) -> Account | None:
    """``user`` as the synced directory sees it now (None: no source lists it)."""
    with db.store.session() as s:
        return state.lookup(s, user)


def groups_of(db: Database, user: str) -> tuple[str, ...]:
    """Every group ``user`` is in, nested groups included (empty when unknown)."""
    with db.store.session() as s:
        return state.groups_of(s, user)


def accounts(db: Database, *, group: str | None = None) -> list[Account]:
    with db.store.session() as s:
        return state.accounts(s, group=group)


def sources(db: Database) -> list[SourceStatus]:
    with db.store.session() as s:
        return state.sources(s)


def in_use(db: Database) -> bool:
    with db.store.session() as s:
        return state.in_use(s)


def forget(db: Database, source: str) -> bool:
    """Remove a source and all it synced (its users' directory keys are refused from then on)."""
    db.require_writable("remove a directory source")
    with db.store.transaction() as s:
        return state.forget(s, source)
