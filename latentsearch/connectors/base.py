"""The connector interface: what a source of company data hands to `latentsearch sync`.

A connector reads one system (a SQL table, a git repository, a web site, a mailbox, a folder) and
yields what changed since a cursor. The sync runner (`latentsearch.connectors.runner`) owns
everything else: storing the cursor and each record's version in SQL, skipping unchanged records
(no encoding), deleting what the source no longer has, reporting failed records, resuming a run
killed part-way. A connector therefore only needs `changes` (and, for sources that cannot report
deletions, `keys`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(slots=True)
class Record:
    """One document at the source.

    ``version`` changes whenever the record's content or permissions change (an ETag, a git blob
    id plus the path rule's result, an ``updated_at`` value, a message's UID set...): the runner
    re-indexes a record only when its version differs from the one it stored. Give ``text``
    (already plain text), or ``content`` with ``filename`` to run the bytes through the ingest
    loaders (HTML, PDF, Markdown... chosen by the file name's suffix). ``parts``, when given, are
    the record's chunks as the source divides it (a mail thread's messages): each becomes one
    item instead of the chunker's windows. ``acl`` holds principals (``user:NAME``,
    ``group:NAME``, ``*``); None means the target collection's default.
    """

    id: str
    version: str
    text: str | None = None
    content: bytes | None = None
    filename: str | None = None
    title: str | None = None
    uri: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    acl: list[str] | None = None
    parts: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Deleted:
    """A record the source no longer has (or that lost every principal that could read it)."""

    id: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Everything yielded before this has been handed over: once the runner has written it, it
    stores ``cursor``, so a run killed later resumes from here."""

    cursor: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A record that could not be read: reported in the run's errors and skipped."""

    id: str
    reason: str


Change = Record | Deleted | Checkpoint | Failed


class Connector(ABC):
    """A source type. Subclasses set ``type`` (the ``type =`` of a ``[[source]]`` in
    sources.toml) and are registered in `latentsearch.connectors.registry`."""

    type: ClassVar[str]

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        # ``settings``: the source's table from sources.toml; ``secrets``: credentials resolved
        # from the environment or a secrets file (never from the TOML itself).
        self.name = name
        self.settings = dict(settings)
        self.secrets = dict(secrets)

    @abstractmethod
    def changes(self, cursor: str | None) -> Iterator[Change]:
        """What changed since ``cursor`` (None: everything). Yield a `Checkpoint` whenever the
        records so far may be committed; the last checkpoint becomes the next run's cursor."""

    def keys(self) -> Iterable[str] | None:
        """Every record id the source holds now, for sources whose `changes` cannot see
        deletions (a key scan): the runner deletes stored records not in it. None: `changes`
        reports deletions itself."""
        return None
