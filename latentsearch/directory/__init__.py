"""Users and groups synced from where they live (LDAP, a groups file): the principals an API key's
user has at request time.

`sync` replaces one source's users and groups atomically; `lookup` and `groups_of` answer who a
user is now (nested groups resolved, cycles harmless). Tables: `latentsearch.directory.tables`;
sources and their settings: `latentsearch.directory.config`. See docs/directory.md.
"""

from __future__ import annotations

from latentsearch.directory.cache import AccountCache
from latentsearch.directory.config import (
    DirectorySource,
    file_source,
    from_table,
    ldap_source,
    sources_from_toml,
)
from latentsearch.directory.ldap import LdapSettings
from latentsearch.directory.model import (
    Account,
    DirectoryGroup,
    DirectoryUser,
    Snapshot,
    SourceStatus,
    SyncResult,
)
from latentsearch.directory.sync import accounts, forget, groups_of, in_use, lookup, sources, sync

__all__ = [
    "Account",
    "AccountCache",
    "DirectoryGroup",
    "DirectorySource",
    "DirectoryUser",
    "LdapSettings",
    "Snapshot",
    "SourceStatus",
    "SyncResult",
    "accounts",
    "file_source",
    "forget",
    "from_table",
    "groups_of",
    "in_use",
    "ldap_source",
    "lookup",
    "sources",
    "sources_from_toml",
    "sync",
]
