"""The ``files`` source: files and folders read as ``latentsearch build`` reads them, optionally
with their POSIX permissions as the ACL.

Settings::

    paths = ["/srv/handbook", "/srv/runbooks/*.md"]   # files, folders (recursive), globs
    include = ["*.md"]             # the build's --include / --exclude globs
    exclude = ["drafts"]
    posix_permissions = true       # owner, group and mode -> principals (below)

With ``posix_permissions``, a file readable by its owner (``u+r``) gives ``user:OWNER``, by its
group (``g+r``) ``group:GROUP``, and by everyone (``o+r``) ``*``; a file nobody may read leaves
the index. Only the file's own mode counts, not its folders'. Owner and group names come from the
system's user database (the number when a name is unknown).

Text, Markdown, reStructuredText, HTML and PDF files are read (record exports and images are
for ``latentsearch build``). The cursor is the time the last scan started (less two seconds
for coarse file clocks): only files whose status changed since (content, ``chmod``, ``chown``,
rename: the inode's ctime) are read again.
Deletes are found by a key scan of the folders.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from latentsearch.connectors.base import Change, Checkpoint, Connector, Failed, Record
from latentsearch.errors import InvalidInputError, SourceConfigError
from latentsearch.ingest.documents import LoadError
from latentsearch.ingest.loaders import load
from latentsearch.ingest.record_files import FieldMap
from latentsearch.ingest.sources import Filters, SourceFile, check_sources, scan

KINDS = ("text", "html", "pdf")
# File times come from the kernel's coarse clock, which may lag time.time_ns() by a tick or a
# network file system's clock by more: files changed this close before a scan are read again
# (and skipped by version when nothing changed).
CTIME_MARGIN_NS = 2_000_000_000


class FilesConnector(Connector):
    type = "files"

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        super().__init__(name, settings, secrets)
        paths = self.settings.get("paths", self.settings.get("path"))
        if isinstance(paths, str):
            paths = [paths]
        if not paths or not all(isinstance(p, str) for p in paths):
            raise SourceConfigError(f"source {name!r}: paths must list files or folders")
        try:
            check_sources(paths)
        except InvalidInputError as exc:
            raise SourceConfigError(f"source {name!r}: {exc}") from exc
        self.paths: list[str] = list(paths)
        self.filters = Filters(
            self.settings.get("include", ()) or (), self.settings.get("exclude", ()) or ()
        )
        self.posix = bool(self.settings.get("posix_permissions", False))

    def _files(self) -> Iterator[SourceFile]:
        for entry in scan(self.paths, self.filters):
            if isinstance(entry, SourceFile) and entry.kind in KINDS:
                yield entry

    def changes(self, cursor: str | None) -> Iterator[Change]:
        since = int(cursor) if cursor else None
        # Taken before the scan, so a file changed during it is read again next time.
        started = time.time_ns() - CTIME_MARGIN_NS
        seen: set[str] = set()
        for sf in self._files():
            if sf.doc_id in seen:
                yield Failed(sf.doc_id, f"{sf.path}: another file has the same relative path")
                continue
            seen.add(sf.doc_id)
            try:
                st = os.stat(sf.path)
            except OSError as exc:
                yield Failed(sf.doc_id, f"{sf.path}: {exc.strerror or exc}")
                continue
            if since is not None and st.st_ctime_ns < since:
                continue
            yield self._record(sf, st)
        yield Checkpoint(str(started))

    def keys(self) -> Iterable[str]:
        return [sf.doc_id for sf in self._files()]

    def _record(self, sf: SourceFile, st: os.stat_result) -> Record | Failed:
        acl = posix_acl(st) if self.posix else None
        version = f"{st.st_size}:{st.st_mtime_ns}:{st.st_mode:o}:{st.st_uid}:{st.st_gid}"
        if acl == []:  # nobody may read it: the runner deletes it without reading it
            return Record(id=sf.doc_id, version=version, text="", acl=[])
        try:
            docs = list(load(sf, FieldMap()))
        except LoadError as exc:
            return Failed(sf.doc_id, f"{sf.path}: {exc.reason}")
        doc = docs[0]
        return Record(
            id=sf.doc_id,
            version=version,
            text=doc.text,
            title=doc.title,
            uri=doc.uri,
            metadata=doc.metadata,
            acl=acl,
        )


def posix_acl(st: os.stat_result) -> list[str]:
    """The principals a file's owner, group and mode let read it."""
    mode = st.st_mode
    out = []
    if mode & stat.S_IROTH:
        out.append("*")
    if mode & stat.S_IRUSR:
        out.append(f"user:{_user(st.st_uid)}")
    if mode & stat.S_IRGRP:
        out.append(f"group:{_group(st.st_gid)}")
    return out


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
