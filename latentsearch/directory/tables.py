"""The directory feature's tables (created by the store's migrations, 0007): the users, groups and
memberships that each directory source (an LDAP server, a groups file) last synced, and one row per
source saying when it synced and how it went.

Rows name users and groups by name, not by id: a principal is ``user:<name>`` or
``group:<name>`` whatever source it came from, so the directory is the union of its sources and a
group of one source may nest a group another source defines.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from latentsearch.store import Base
from latentsearch.store.models import BigId, UTCDateTime

NAME = 256  # a principal's name (checks.MAX_PRINCIPAL bounds the whole principal)
SOURCE = 200
USER = "user"
GROUP = "group"


class DirectorySourceRow(Base):
    """One directory source: what it is, its last good sync and its last failure."""

    __tablename__ = "ls_directory_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(SOURCE), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # ldap | file
    location: Mapped[str | None] = mapped_column(String(2048))  # URL or path, never a secret
    synced: Mapped[datetime | None] = mapped_column(UTCDateTime())
    users: Mapped[int] = mapped_column(Integer, default=0)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    memberships: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class DirectoryUserRow(Base):
    """A user as one source lists it."""

    __tablename__ = "ls_directory_users"
    __table_args__ = (
        UniqueConstraint("source", "name", name="uq_ls_directory_users_source_name"),
        Index("ix_ls_directory_users_name", "name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(SOURCE))
    name: Mapped[str] = mapped_column(String(NAME))
    display_name: Mapped[str | None] = mapped_column(String(500))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class DirectoryGroupRow(Base):
    """A group as one source lists it."""

    __tablename__ = "ls_directory_groups"
    __table_args__ = (
        UniqueConstraint("source", "name", name="uq_ls_directory_groups_source_name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(SOURCE))
    name: Mapped[str] = mapped_column(String(NAME))


class DirectoryMemberRow(Base):
    """``member`` (a user, or a group when ``kind`` is group: nesting) belongs to ``group_name``."""

    __tablename__ = "ls_directory_members"
    __table_args__ = (
        UniqueConstraint(
            "source", "group_name", "kind", "member", name="uq_ls_directory_members_source_edge"
        ),
        Index("ix_ls_directory_members_member", "kind", "member"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(SOURCE))
    group_name: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(8))  # user | group
    member: Mapped[str] = mapped_column(String(NAME))
