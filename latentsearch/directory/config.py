"""Directory sources as configuration: one `DirectorySource` per ``[[directory]]`` table of a TOML
file (sources.toml), or built from `latentsearch directory sync` options.

```toml
[[directory]]
name = "corp"                 # the source's name in `directory status` (default: the type)
type = "ldap"
url = "ldap://ldap.example.com"
base_dn = "dc=example,dc=com"
bind_dn = "cn=reader,dc=example,dc=com"
password_env = "LATENTSEARCH_LDAP_PASSWORD"   # the password itself never goes in the file
disabled_filter = "(employeeType=disabled)"

[[directory]]
name = "contractors"
type = "groups-file"
path = "groups.csv"           # relative to the TOML file
```

`sources_from_toml` reads those tables from a file; `from_table` reads one already-parsed table
(for a caller that parses sources.toml itself and hands over ``data["directory"]``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from latentsearch.directory.groupsfile import read_groups_file
from latentsearch.directory.ldap import LdapSettings, read_ldap
from latentsearch.directory.model import Snapshot, check_source
from latentsearch.errors import InvalidInputError

TYPES = {"ldap": "ldap", "groups-file": "file", "file": "file"}
SECRETS = {"password", "bind_password", "secret"}
_LDAP_FIELDS = {f.name for f in fields(LdapSettings)}


@dataclass(frozen=True, slots=True)
class DirectorySource:
    """One source: an LDAP server (``ldap``) or a groups file (``path``)."""

    name: str
    kind: str  # ldap | file
    ldap: LdapSettings | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        check_source(self.name)
        if (self.kind == "ldap") != (self.ldap is not None) or (self.kind == "file") != (
            self.path is not None
        ):
            raise InvalidInputError("a directory source is either LDAP settings or a groups file")

    @property
    def location(self) -> str:
        """Where the source reads from (shown by `directory status`; never a secret)."""
        if self.ldap is not None:
            return f"{self.ldap.url}/{self.ldap.base_dn}"
        return str(self.path)

    def read(self) -> tuple[Snapshot, list[str]]:
        """The source's users and groups now, and notes on what it skipped."""
        if self.ldap is not None:
            return read_ldap(self.ldap)
        assert self.path is not None
        return read_groups_file(self.path), []


def ldap_source(name: str = "ldap", **settings: Any) -> DirectorySource:
    return DirectorySource(name=name, kind="ldap", ldap=_ldap(settings, name))


def file_source(path: Path, name: str = "groups-file") -> DirectorySource:
    return DirectorySource(name=name, kind="file", path=Path(path))


def from_table(
    table: Mapping[str, Any], *, base: Path = Path("."), ignore: Collection[str] = ("schedule",)
) -> DirectorySource:
    """One ``[[directory]]`` table; relative paths are resolved against ``base``. Keys in
    ``ignore`` belong to whoever runs the sources (a schedule) and are left to it."""
    if not isinstance(table, Mapping):
        raise InvalidInputError("each [[directory]] entry must be a table")
    settings = {k: v for k, v in table.items() if k not in ignore}
    leaked = SECRETS & set(settings)
    if leaked:
        raise InvalidInputError(
            f"[[directory]] {settings.get('name', '')!r}: remove {', '.join(sorted(leaked))}; "
            "name an environment variable with password_env instead"
        )
    kind = TYPES.get(str(settings.pop("type", "")))
    if kind is None:
        raise InvalidInputError(
            f'[[directory]] needs type = "ldap" or "groups-file", not {table.get("type")!r}'
        )
    name = str(settings.pop("name", "ldap" if kind == "ldap" else "groups-file"))
    if kind == "file":
        path = settings.pop("path", None)
        if not isinstance(path, str) or settings:
            extra = f" (unknown: {', '.join(sorted(settings))})" if settings else ""
            raise InvalidInputError(
                f'[[directory]] {name!r}: a groups file takes path = "..."{extra}'
            )
        return file_source(base / path, name)
    return ldap_source(name, **settings)


def sources_from_toml(path: Path) -> list[DirectorySource]:
    """Every ``[[directory]]`` table of a TOML file (other tables are left to their owners)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid TOML: {exc}") from None
    tables = data.get("directory", [])
    if isinstance(tables, Mapping):
        tables = [tables]
    if not isinstance(tables, list) or not tables:
        raise InvalidInputError(f"{path} has no [[directory]] table")
    made = [from_table(t, base=Path(path).parent) for t in tables]
    names = [s.name for s in made]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{path}: two [[directory]] tables share a name; give each a name")
    return made


def _ldap(settings: Mapping[str, Any], name: str) -> LdapSettings:
    unknown = set(settings) - _LDAP_FIELDS
    if unknown:
        raise InvalidInputError(
            f"directory source {name!r}: unknown LDAP setting(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_LDAP_FIELDS))}"
        )
    for key in ("url", "base_dn"):
        if not isinstance(settings.get(key), str):
            raise InvalidInputError(f"directory source {name!r}: {key} is required")
    try:
        return LdapSettings(**settings).check()
    except TypeError as exc:
        raise InvalidInputError(f"directory source {name!r}: {exc}") from None
