"""An LDAP directory read into a `Snapshot` through ldap3: users under a base DN, groups and
their members (member DNs that are groups make nested groups), paged so a large directory is
read in pieces.

The bind password comes from an environment variable only (``password_env``), never from a
file or an argument: command lines and config files end up in shell histories and backups.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from latentsearch.directory.model import DirectoryGroup, DirectoryUser, Snapshot, check_name
from latentsearch.errors import DirectoryError, InvalidInputError, MissingExtraError

PASSWORD_ENV = "LATENTSEARCH_LDAP_PASSWORD"


@dataclass(frozen=True, slots=True)
class LdapSettings:
    """Where the directory is and how to read it. The defaults fit OpenLDAP's inetOrgPerson users
    and groupOfNames groups; Active Directory: ``user_filter="(objectClass=user)"``,
    ``user_attribute="sAMAccountName"``, ``group_filter="(objectClass=group)"`` and
    ``disabled_filter="(userAccountControl:1.2.840.113556.1.4.803:=2)"``."""

    url: str  # ldap://host:389 or ldaps://host:636
    base_dn: str
    bind_dn: str | None = None  # None: an anonymous bind
    password_env: str = PASSWORD_ENV
    start_tls: bool = False
    user_base: str | None = None  # default: base_dn
    user_filter: str = "(objectClass=inetOrgPerson)"
    user_attribute: str = "uid"  # the user's name: principal user:<value>
    display_attribute: str = "cn"
    disabled_filter: str | None = None  # users this matches (within user_filter) are disabled
    group_base: str | None = None  # default: base_dn
    group_filter: str = "(objectClass=groupOfNames)"
    group_attribute: str = "cn"  # the group's name: principal group:<value>
    member_attribute: str = "member"
    members_are_dns: bool = True  # False for posixGroup's memberUid (user names, no nesting)
    timeout: float = 10.0
    page_size: int = 500

    def check(self) -> LdapSettings:
        if not self.url.startswith(("ldap://", "ldaps://")):
            raise InvalidInputError(
                f"LDAP url must start with ldap:// or ldaps://, not {self.url!r}"
            )
        if not self.base_dn.strip():
            raise InvalidInputError("LDAP base_dn is required, e.g. dc=example,dc=com")
        for name in ("user_filter", "group_filter", "disabled_filter"):
            value = getattr(self, name)
            if value is not None and not (value.startswith("(") and value.endswith(")")):
                raise InvalidInputError(
                    f"LDAP {name} must be a filter in parentheses, not {value!r}"
                )
        if not 1 <= self.page_size <= 10_000 or self.timeout <= 0:
            raise InvalidInputError("LDAP page_size must be 1-10000 and timeout above 0 seconds")
        return self


def read_ldap(settings: LdapSettings) -> tuple[Snapshot, list[str]]:
    """The directory's users and groups, and what could not be mapped (entries without a name,
    members that are neither a synced user nor a synced group), as readable notes."""
    settings.check()
    try:
        import ldap3
        from ldap3.core.exceptions import LDAPException
    except ImportError:
        raise MissingExtraError(
            "syncing from LDAP needs ldap3; install it with: pip install 'latentsearch[directory]'"
        ) from None
    try:
        conn = _connect(ldap3, settings)
        try:
            return _read(ldap3, conn, settings)
        finally:
            conn.unbind()
    except LDAPException as exc:
        raise DirectoryError(f"LDAP {settings.url}: {type(exc).__name__}: {exc}") from None


def _connect(ldap3: Any, cfg: LdapSettings) -> Any:
    password = None
    if cfg.bind_dn:
        password = os.environ.get(cfg.password_env)
        if not password:
            raise DirectoryError(
                f"set {cfg.password_env} to the password of {cfg.bind_dn} (it is read from the "
                "environment only)"
            )
    server = ldap3.Server(cfg.url, connect_timeout=cfg.timeout, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server,
        user=cfg.bind_dn,
        password=password,
        read_only=True,
        receive_timeout=math.ceil(cfg.timeout),  # ldap3 packs it as an integer
        raise_exceptions=False,
    )
    conn.open()
    if cfg.start_tls:
        conn.start_tls()
    if not conn.bind():
        who = cfg.bind_dn or "anonymous"
        raise DirectoryError(
            f"LDAP {cfg.url}: bind as {who} refused ({conn.result.get('description')}); "
            f"check bind_dn and {cfg.password_env}"
        )
    return conn


def _search(
    conn: Any, base: str, flt: str, attrs: list[str], cfg: LdapSettings
) -> list[tuple[str, dict[str, list[Any]]]]:
    entries = conn.extend.standard.paged_search(
        search_base=base,
        search_filter=flt,
        attributes=attrs,
        paged_size=cfg.page_size,
        generator=True,
    )
    out = []
    for e in entries:
        if e.get("type") != "searchResEntry":
            continue
        attributes = {
            k.lower(): v if isinstance(v, list) else [v] for k, v in e["attributes"].items()
        }
        out.append((str(e["dn"]), attributes))
    if conn.result.get("result", 0) not in (0,):
        raise DirectoryError(
            f"LDAP search of {base} with {flt} failed: {conn.result.get('description')} "
            f"{conn.result.get('message') or ''}".strip()
        )
    return out


def _name(
    attrs: dict[str, list[Any]], attr: str, kind: str, dn: str, notes: list[str]
) -> str | None:
    """The entry's name, or None (with a note) when it has none or none that makes a principal:
    one odd entry is skipped, not the whole sync."""
    name = _first(attrs, attr)
    if name is None:
        notes.append(f"{kind} {dn}: no {attr}; skipped")
        return None
    try:
        return check_name(name, kind, f"{kind} {dn}")
    except InvalidInputError as exc:
        notes.append(f"{exc}; skipped")
        return None


def _first(attrs: dict[str, list[Any]], name: str) -> str | None:
    values = attrs.get(name.lower()) or []
    value = values[0] if values else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _read(ldap3: Any, conn: Any, cfg: LdapSettings) -> tuple[Snapshot, list[str]]:
    notes: list[str] = []
    user_base, group_base = cfg.user_base or cfg.base_dn, cfg.group_base or cfg.base_dn
    attrs = [cfg.user_attribute, cfg.display_attribute]
    user_dns: dict[str, str] = {}
    display: dict[str, str | None] = {}
    for dn, a in _search(conn, user_base, cfg.user_filter, attrs, cfg):
        name = _name(a, cfg.user_attribute, "user", dn, notes)
        if name is None:
            continue
        if name in display:
            notes.append(
                f"user {dn}: {cfg.user_attribute} {name!r} is taken by another entry; skipped"
            )
        else:
            user_dns[_norm(dn)], display[name] = name, _first(a, cfg.display_attribute)
    disabled: set[str] = set()
    if cfg.disabled_filter:
        flt = f"(&{cfg.user_filter}{cfg.disabled_filter})"
        disabled = {
            user_dns[_norm(dn)]
            for dn, _ in _search(conn, user_base, flt, [], cfg)
            if _norm(dn) in user_dns
        }
    raw = _search(
        conn, group_base, cfg.group_filter, [cfg.group_attribute, cfg.member_attribute], cfg
    )
    group_dns: dict[str, str] = {}
    taken: set[str] = set()
    for dn, a in raw:
        name = _name(a, cfg.group_attribute, "group", dn, notes)
        if name is None:
            continue
        if name in taken:
            notes.append(
                f"group {dn}: {cfg.group_attribute} {name!r} is taken by another group; skipped"
            )
        else:
            group_dns[_norm(dn)] = name
            taken.add(name)
    groups = []
    for dn, a in raw:
        if (name := group_dns.get(_norm(dn))) is None:
            continue
        users, nested = set(), set()
        for value in a.get(cfg.member_attribute.lower(), []):
            member = value.decode() if isinstance(value, bytes) else str(value)
            if not cfg.members_are_dns:
                if member in display:
                    users.add(member)
                else:
                    notes.append(f"group {name}: member {member!r} is not a synced user")
                continue
            key = _norm(member)
            if key in user_dns:
                users.add(user_dns[key])
            elif key in group_dns:
                nested.add(group_dns[key])
            elif member.strip():
                notes.append(f"group {name}: member {member} is neither a synced user nor a group")
        groups.append(DirectoryGroup(name, tuple(sorted(users)), tuple(sorted(nested))))
    users_out = tuple(
        DirectoryUser(name, display[name], name in disabled) for name in sorted(display)
    )
    return Snapshot(users=users_out, groups=tuple(sorted(groups, key=lambda g: g.name))), notes


def _norm(dn: str) -> str:
    """A DN compared the way LDAP does for these names: attribute types and values case-folded,
    spaces around separators dropped (``uid=Alice, ou=People`` is ``uid=alice,ou=people``)."""
    from ldap3.utils.dn import parse_dn

    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except Exception:
        return dn.strip().lower()
    return ",".join(f"{t.lower()}={v.lower()}" for t, v, _sep in parts)
