"""SQL for the directory: replace one source's users and groups, and answer who a user is.

Every function takes the caller's session; `replace` must run inside one transaction (see
`latentsearch.directory.sync`), so readers see a source's old state or its new one, never a mix,
and a sync that fails part-way leaves the old one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from latentsearch.directory.model import Account, Snapshot, SourceStatus, SyncResult
from latentsearch.directory.tables import (
    GROUP,
    USER,
    DirectoryGroupRow,
    DirectoryMemberRow,
    DirectorySourceRow,
    DirectoryUserRow,
)
from latentsearch.store.items import chunks
from latentsearch.store.models import utcnow


def replace(s: Session, source: str, kind: str, location: str | None, snap: Snapshot) -> SyncResult:
    """Make ``source``'s users, groups and memberships exactly ``snap``'s."""
    for table in (DirectoryMemberRow, DirectoryGroupRow, DirectoryUserRow):
        s.execute(delete(table).where(table.source == source))
    users = [
        {"source": source, "name": u.name, "display_name": u.display_name, "disabled": u.disabled}
        for u in snap.users
    ]
    groups = [{"source": source, "name": g.name} for g in snap.groups]
    edges = {
        (g.name, kind_, m)
        for g in snap.groups
        for kind_, members in ((USER, g.users), (GROUP, g.groups))
        for m in members
    }
    members = [
        {"source": source, "group_name": g, "kind": k, "member": m} for g, k, m in sorted(edges)
    ]
    for table, rows in (
        (DirectoryUserRow, users),
        (DirectoryGroupRow, groups),
        (DirectoryMemberRow, members),
    ):
        for part in chunks(rows):
            s.execute(insert(table), part)
    row = _source_row(s, source, kind, location)
    row.synced = utcnow()
    row.users, row.groups, row.memberships = len(users), len(groups), len(members)
    row.failed, row.error = None, None
    return SyncResult(
        source=source,
        users=len(users),
        groups=len(groups),
        memberships=len(members),
        disabled=sum(1 for u in snap.users if u.disabled),
    )


def record_failure(s: Session, source: str, kind: str, location: str | None, error: str) -> None:
    """Note that a sync of ``source`` failed (its users and groups stay as they were)."""
    row = _source_row(s, source, kind, location)
    row.failed, row.error = utcnow(), error[:4000]


def forget(s: Session, source: str) -> bool:
    """Remove a source and everything it synced; False when there was no such source."""
    for table in (DirectoryMemberRow, DirectoryGroupRow, DirectoryUserRow):
        s.execute(delete(table).where(table.source == source))
    gone = s.execute(delete(DirectorySourceRow).where(DirectorySourceRow.name == source))
    return bool(getattr(gone, "rowcount", 0))


def _source_row(s: Session, source: str, kind: str, location: str | None) -> DirectorySourceRow:
    row = s.scalar(select(DirectorySourceRow).where(DirectorySourceRow.name == source))
    if row is None:
        row = DirectorySourceRow(name=source, users=0, groups=0, memberships=0)
        s.add(row)
    row.kind, row.location = kind, location
    return row


def sources(s: Session) -> list[SourceStatus]:
    rows = s.scalars(select(DirectorySourceRow).order_by(DirectorySourceRow.name))
    return [
        SourceStatus(
            name=r.name,
            kind=r.kind,
            location=r.location,
            synced=r.synced,
            users=r.users,
            groups=r.groups,
            memberships=r.memberships,
            failed=r.failed,
            error=r.error,
        )
        for r in rows
    ]


def in_use(s: Session) -> bool:
    """True once any source has synced: keys made from then on take their groups from it."""
    return (
        s.scalar(
            select(DirectorySourceRow.id).where(DirectorySourceRow.synced.is_not(None)).limit(1)
        )
        is not None
    )


def groups_of(s: Session, user: str) -> tuple[str, ...]:
    """Every group ``user`` is in, directly or through nested groups, in one recursive query.
    ``UNION`` (not ``UNION ALL``) drops rows already found, so a nesting cycle ends the walk."""
    m = DirectoryMemberRow
    up = (
        select(m.group_name.label("name"))
        .where(m.kind == USER, m.member == user)
        .cte("up", recursive=True)
    )
    up = up.union(select(m.group_name).where(m.kind == GROUP, m.member == up.c.name))
    return tuple(sorted(set(s.scalars(select(up.c.name)))))


def lookup(s: Session, user: str) -> Account | None:
    """The user as every source together lists it, or None when no source lists it."""
    rows = s.scalars(
        select(DirectoryUserRow)
        .where(DirectoryUserRow.name == user)
        .order_by(DirectoryUserRow.source)
    ).all()
    if not rows:
        return None
    return Account(
        name=user,
        display_name=next((r.display_name for r in rows if r.display_name), None),
        disabled=any(r.disabled for r in rows),
        groups=groups_of(s, user),
        sources=tuple(r.source for r in rows),
    )


def accounts(s: Session, *, group: str | None = None) -> list[Account]:
    """Every user with their groups (read in three queries); only ``group``'s members if given."""
    parents: dict[str, set[str]] = defaultdict(set)
    direct: dict[str, set[str]] = defaultdict(set)
    for g, kind, m in s.execute(
        select(DirectoryMemberRow.group_name, DirectoryMemberRow.kind, DirectoryMemberRow.member)
    ):
        (direct if kind == USER else parents)[m].add(g)
    by_name: dict[str, list[DirectoryUserRow]] = defaultdict(list)
    for r in s.scalars(
        select(DirectoryUserRow).order_by(DirectoryUserRow.name, DirectoryUserRow.source)
    ):
        by_name[r.name].append(r)
    out = []
    for name, rows in by_name.items():
        groups = _closure(direct.get(name, set()), parents)
        if group is not None and group not in groups:
            continue
        out.append(
            Account(
                name=name,
                display_name=next((r.display_name for r in rows if r.display_name), None),
                disabled=any(r.disabled for r in rows),
                groups=tuple(sorted(groups)),
                sources=tuple(r.source for r in rows),
            )
        )
    return out


def _closure(start: Iterable[str], parents: dict[str, set[str]]) -> set[str]:
    found = set(start)
    stack = list(found)
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in found:
                found.add(p)
                stack.append(p)
    return found
