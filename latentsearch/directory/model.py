"""What a directory source yields (a `Snapshot`: users and groups) and what the directory answers
about a user (an `Account`), checked at the boundary: every name must make a valid principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from latentsearch.checks import check_principal
from latentsearch.directory.tables import NAME, SOURCE
from latentsearch.errors import InvalidInputError

KINDS = ("ldap", "file")


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A user: ``name`` becomes the principal ``user:<name>``; a disabled user's keys are refused."""

    name: str
    display_name: str | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """A group (principal ``group:<name>``): its member users and its member groups (nesting)."""

    name: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one source says, replacing what it said before."""

    users: tuple[DirectoryUser, ...] = ()
    groups: tuple[DirectoryGroup, ...] = ()

    def check(self, where: str) -> Snapshot:
        """This snapshot, or `InvalidInputError` naming the bad entry (``where``: the source)."""
        seen: set[str] = set()
        for u in self.users:
            check_name(u.name, "user", where)
            if u.name in seen:
                raise InvalidInputError(f"{where}: user {u.name!r} is listed twice")
            seen.add(u.name)
            if u.display_name is not None and len(u.display_name) > 500:
                raise InvalidInputError(
                    f"{where}: user {u.name!r} has a display name over 500 chars"
                )
        names: set[str] = set()
        for g in self.groups:
            check_name(g.name, "group", where)
            if g.name in names:
                raise InvalidInputError(f"{where}: group {g.name!r} is listed twice")
            names.add(g.name)
            for m in g.users:
                check_name(m, "user", f"{where}, group {g.name!r}")
            for m in g.groups:
                check_name(m, "group", f"{where}, group {g.name!r}")
        return self


def check_name(name: object, kind: str, where: str) -> str:
    """A user or group name that makes a principal (``user:<name>``/``group:<name>``)."""
    if not isinstance(name, str) or not name.strip() or name != name.strip() or len(name) > NAME:
        raise InvalidInputError(
            f"{where}: a {kind} name must be 1-{NAME} characters without surrounding spaces, "
            f"not {name!r}"
        )
    check_principal(f"{kind}:{name}", f"{where}: {kind} names must be readable", f"{where}: {kind}")
    return name


def check_source(name: object) -> str:
    """A directory source's name (``ldap``, ``hr-groups``...): letters, digits and ``_.:-``."""
    ok = isinstance(name, str) and 0 < len(name) <= SOURCE and name.isascii()
    if not ok or not all(c.isalnum() or c in "_.:-" for c in str(name)):
        raise InvalidInputError(
            f"a directory source name must be 1-{SOURCE} ASCII letters, digits or '_.:-', not {name!r}"
        )
    return str(name)


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the whole directory (every source together) sees it at one moment.

    ``disabled`` when any source marks the user disabled; ``groups``: every group the user is in,
    directly or through nested groups, sorted."""

    name: str
    display_name: str | None
    disabled: bool
    groups: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def principals(self) -> list[str]:
        return [f"user:{self.name}", *(f"group:{g}" for g in self.groups)]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source's last sync (``synced``) and last failure (``failed``, ``error``)."""

    name: str
    kind: str
    location: str | None
    synced: datetime | None
    users: int
    groups: int
    memberships: int
    failed: datetime | None
    error: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "location": self.location,
            "synced": self.synced.isoformat() if self.synced else None,
            "users": self.users,
            "groups": self.groups,
            "memberships": self.memberships,
            "failed": self.failed.isoformat() if self.failed else None,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync wrote for one source, and what it could not map (``skipped``, with reasons)."""

    source: str
    users: int
    groups: int
    memberships: int
    disabled: int
    skipped: tuple[str, ...] = field(default=())
