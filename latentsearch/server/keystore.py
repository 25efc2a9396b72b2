"""API keys (the server's table ``ls_api_keys``), stored hashed: each maps to a user, a role, and
where the user's groups come from: the key itself (``groups_from="key"``, the groups frozen at
creation, as every key made before directory sync) or the synced directory at request time
(``groups_from="directory"``; see `latentsearch.server.principals`).

A key is ``ls_<key_id>_<secret>``. Only its SHA-256 is stored (keys are 256-bit random secrets,
so a fast hash is the right tool: there is nothing to brute-force). ``key_id`` is public: it
names the key in ``keys list`` and ``keys revoke`` without revealing it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from latentsearch.checks import check_text
from latentsearch.errors import InvalidInputError, NotFoundError
from latentsearch.store import Base
from latentsearch.store.models import BigId, JsonType, UTCDateTime, utcnow

ROLES = ("reader", "writer", "admin")
GROUPS_FROM = ("key", "directory")
PREFIX = "ls_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,199}")  # fullmatch: no trailing newline
MAX_NOTE = 500


class ApiKeyRow(Base):
    """One API key: its hash, the principals it stands for, its role, and whether it is revoked."""

    __tablename__ = "ls_api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user: Mapped[str] = mapped_column(String(200))
    groups: Mapped[list[str]] = mapped_column(JsonType, default=list)
    role: Mapped[str] = mapped_column(String(16))
    groups_from: Mapped[str] = mapped_column(String(16), default="key", server_default="key")
    note: Mapped[str | None] = mapped_column(String(500))
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known about a key (never the key itself)."""

    key_id: str
    user: str
    groups: tuple[str, ...]
    role: str
    note: str | None
    created: datetime
    revoked: datetime | None
    groups_from: str = "key"  # "directory": `groups` are filled in per request from the directory

    @property
    def principals(self) -> list[str]:
        """The ACL principals this key stands for: ``user:<user>`` and ``group:<g>`` for each group."""
        return principals_for(self.user, self.groups)

    @property
    def active(self) -> bool:
        return self.revoked is None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: ``key`` is shown once and never stored."""

    key: str
    info: KeyInfo


def principals_for(user: str, groups: tuple[str, ...] | list[str]) -> list[str]:
    return [f"user:{user}", *(f"group:{g}" for g in sorted(set(groups)))]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_name(what: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInputError(
            f"invalid {what} {value!r}: use 1-200 letters, digits or '_.@+-', starting with a letter or digit"
        )
    return value


def create_key(
    s: Session,
    user: str,
    groups: list[str] | tuple[str, ...] = (),
    role: str = "reader",
    note: str | None = None,
    *,
    groups_from: str = "key",
) -> NewKey:
    """Create a key for ``user`` in ``groups`` with ``role``; the returned key is shown only once.

    ``groups_from="directory"``: the key carries no groups; each request gets the user's groups
    from the synced directory, and a disabled or deleted directory user's key is refused."""
    check_name("user", user)
    if groups_from not in GROUPS_FROM:
        raise InvalidInputError(f"groups_from must be 'key' or 'directory', not {groups_from!r}")
    if groups_from == "directory" and groups:
        raise InvalidInputError(
            "a directory key takes its groups from the directory; give no groups with it"
        )
    for g in groups:
        check_name("group", g)
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if note is not None:
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise InvalidInputError(
                f"a key's note must be a string of at most {MAX_NOTE} characters"
            )
        check_text(note, "the key's note")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        key_id=key_id,
        key_hash=hash_key(key),
        user=user,
        groups=sorted(set(groups)),
        role=role,
        groups_from=groups_from,
        note=note,
        created=utcnow(),
        revoked=None,
    )
    s.add(row)
    s.flush()
    return NewKey(key=key, info=_info(row))


def list_keys(s: Session, *, include_revoked: bool = False) -> list[KeyInfo]:
    stmt = select(ApiKeyRow).order_by(ApiKeyRow.created, ApiKeyRow.id)
    if not include_revoked:
        stmt = stmt.where(ApiKeyRow.revoked.is_(None))
    return [_info(r) for r in s.scalars(stmt)]


def revoke_key(s: Session, key_id: str) -> KeyInfo:
    """Revoke a key by its public id (or by the full key); revoking twice is harmless."""
    if not isinstance(key_id, str) or len(key_id) > 200:
        raise NotFoundError("no such API key; see `latentsearch keys list`")
    check_text(key_id, "the key id")
    if key_id.startswith(PREFIX) and key_id.count("_") >= 2:
        key_id = key_id.split("_", 2)[1]
    row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
    if row is None:
        raise NotFoundError(f"no API key with id {key_id!r}; see `latentsearch keys list`")
    if row.revoked is None:
        row.revoked = utcnow()
    return _info(row)


def authenticate(s: Session, key: str) -> KeyInfo | None:
    """The active key matching ``key``, or None (unknown, malformed or revoked)."""
    if not isinstance(key, str) or not key.startswith(PREFIX) or len(key) > 200:
        return None
    if not key.isascii():  # keys are ASCII; a surrogate could not even be hashed
        return None
    row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(key)))
    if row is None or row.revoked is not None:
        return None
    return _info(row)


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        user=row.user,
        groups=tuple(row.groups or ()),
        role=row.role,
        note=row.note,
        created=row.created,
        revoked=row.revoked,
        groups_from=row.groups_from or "key",
    )
