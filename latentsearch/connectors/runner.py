"""Sync one source into its collection: cursor in, changes through, cursor out.

Per batch of records the runner (1) skips records whose stored version is the one given (no
encoding), (2) records the others as pending with every item id they may leave behind, (3)
upserts their items through `Collection.upsert` (which embeds only changed texts), (4) deletes
the items a record no longer has, and (5) stores the new versions. A `Checkpoint` is stored only
after everything before it is written, so a run killed at any point resumes from the last
checkpoint: records seen again are either skipped by version or rewritten with the same ids
(never duplicated, never re-embedded), and pending rows still name every item to delete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from latentsearch import Collection, Database
from latentsearch.connectors import state
from latentsearch.connectors.base import Checkpoint, Connector, Deleted, Failed, Record
from latentsearch.connectors.config import SourceConfig
from latentsearch.connectors.hydrate import doc_id, items_for
from latentsearch.connectors.registry import connector_class
from latentsearch.errors import InvalidInputError, SourceConfigError
from latentsearch.ingest.chunking import Chunker, chunker_for
from latentsearch.ingest.documents import LoadError

log = logging.getLogger(__name__)

BATCH = 64  # records per upsert
Progress = Callable[[str, int], None]  # (what happened: added, updated, unchanged..., how many)


@dataclass(slots=True)
class SyncResult:
    """What one run of one source did."""

    source: str
    status: str = "running"  # done | failed | interrupted
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    items_written: int = 0
    cursor: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, Any]:
        keys = ("added", "updated", "unchanged", "deleted", "failed", "items_written")
        return {k: getattr(self, k) for k in keys} | {"elapsed_s": round(self.elapsed_s, 3)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_source(
    db: Database,
    source: SourceConfig,
    *,
    base: Path | None = None,
    connector: Connector | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH,
) -> SyncResult:
    """Run ``source`` once; see the module docstring. A source that cannot be read at all ends
    with status ``failed`` and its error in the result (and in `sources status`)."""
    return _Run(db, source, base, connector, progress, batch_size).run()


class _Run:
    def __init__(
        self,
        db: Database,
        src: SourceConfig,
        base: Path | None,
        connector: Connector | None,
        progress: Progress | None,
        batch_size: int,
    ) -> None:
        self.db, self.src, self.base = db, src, base
        self.connector = connector
        self.progress = progress or (lambda what, n: None)
        self.batch_size = max(1, batch_size)
        self.result = SyncResult(source=src.name)
        self.batch: dict[str, Record] = {}
        self._chunker: Chunker | None = None
        self.col: Collection  # opened (or created) when the run starts
        # Stored versions carry the settings that shape items: changing them re-reads records
        # (and unchanged texts are still not re-embedded).
        shape = {
            "p": src.permissions.model_dump(),
            "c": [src.chunk_size, src.chunk_overlap],
            "col": src.collection,
        }
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
        self.shape = digest[:12]
        # The cursor is only valid for the connector settings it was made under.
        conf = {"type": src.type, "settings": src.settings, "shape": self.shape}
        blob = json.dumps(conf, sort_keys=True, default=str).encode()
        self.settings_hash = hashlib.sha256(blob).hexdigest()

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            self._chunker = chunker_for(
                self.col.encoder, self.src.chunk_size, self.src.chunk_overlap
            )
        return self._chunker

    def run(self) -> SyncResult:
        started = time.perf_counter()
        name = self.src.name
        with self.db.store.transaction() as s:
            row = state.source_row(s, name)
            if row is not None and row.collection != self.src.collection:
                raise SourceConfigError(
                    f"source {name!r} was synced into collection {row.collection!r}, not "
                    f"{self.src.collection!r}; give the source a new name to sync it elsewhere"
                )
            cursor = state.start_run(
                s, name, self.src.type, self.src.collection, self.settings_hash
            )
        self.result.cursor = cursor
        try:
            self.col = self._collection()
            if self.connector is None:
                cls = connector_class(self.src.type)
                settings = self.src.connector_settings()
                self.connector = cls(name, settings, self.src.secrets(self.base))
            self._changes(self.connector, cursor)
            self._flush()
            self._key_scan(self.connector)
            self.result.status = "done"
        except KeyboardInterrupt:
            self.result.status = "interrupted"
            raise
        except Exception as exc:  # the source failed as a whole: report it, keep what was written
            log.warning("source %s failed: %s", name, exc, exc_info=True)
            self.result.status = "failed"
            self._error("", f"{type(exc).__name__}: {exc}")
        finally:
            self.result.elapsed_s = time.perf_counter() - started
            with self.db.store.transaction() as s:
                state.finish_run(
                    s, name, self.result.status, self.result.counts(), self.result.errors
                )
        return self.result

    def _collection(self) -> Collection:
        if any(c.name == self.src.collection for c in self.db.collections()):
            return self.db.collection(self.src.collection)
        return self.db.create_collection(self.src.collection, encoder=self.src.encoder or "text")

    def _changes(self, connector: Connector, cursor: str | None) -> None:
        for change in connector.changes(cursor):
            if isinstance(change, Record):
                self.batch.pop(change.id, None)  # the latest version of a record wins
                self.batch[change.id] = change
                if len(self.batch) >= self.batch_size:
                    self._flush()
            elif isinstance(change, Deleted):
                self._flush()
                self._delete([change.id])
            elif isinstance(change, Failed):
                self._fail(change.id, change.reason)
            elif isinstance(change, Checkpoint):
                self._flush()
                with self.db.store.transaction() as s:
                    state.set_cursor(s, self.src.name, change.cursor)
                self.result.cursor = change.cursor
            else:
                raise TypeError(f"connector {connector.type!r} yielded {change!r}")

    # -- writing ------------------------------------------------------------------------
    def _flush(self) -> None:
        batch, self.batch = list(self.batch.values()), {}
        if not batch:
            return
        name = self.src.name
        with self.db.store.session() as s:
            known = state.records(s, name, [r.id for r in batch])
        todo: list[tuple[Record, str, list[dict[str, Any]]]] = []
        gone: list[str] = []
        for rec in batch:
            version = f"{self.shape}:{rec.version}"
            if rec.id in known and known[rec.id][0] == version:
                self.result.unchanged += 1
                self.progress("unchanged", 1)
                continue
            acl = self.src.permissions.apply(rec.acl)
            if acl == []:  # every principal that could read it was removed at the source
                gone.append(rec.id)
                continue
            try:
                todo.append((rec, version, items_for(name, rec, acl, self._chunker_for(rec))))
            except LoadError as exc:
                self._fail(rec.id, exc.reason)
        if todo:
            self._write(todo, known)
        if gone:
            self._delete(gone)

    def _chunker_for(self, rec: Record) -> Chunker | None:
        return None if rec.parts is not None else self.chunker

    def _write(
        self,
        todo: list[tuple[Record, str, list[dict[str, Any]]]],
        known: dict[str, tuple[str | None, list[str]]],
    ) -> None:
        name = self.src.name
        old = {rec.id: set(known.get(rec.id, (None, []))[1]) for rec, _, _ in todo}
        new = {rec.id: [i["id"] for i in items] for rec, _, items in todo}
        with self.db.store.transaction() as s:  # pending: every id this write may leave behind
            state.put_records(
                s, name, [(r.id, None, sorted(old[r.id] | set(new[r.id]))) for r, _, _ in todo]
            )
        # A record that was one item and is now several chunks: delete the single item first
        # (deleting a document id deletes its chunks too).
        first = [
            doc_id(name, r.id)
            for r, _, _ in todo
            if doc_id(name, r.id) in old[r.id] - set(new[r.id])
        ]
        if first:
            self.col.delete(first)
        written = self._upsert(todo)
        stale = sorted(i for r, _, _ in written for i in old[r.id] - set(new[r.id]) - set(first))
        if stale:
            self.col.delete(stale)
        with self.db.store.transaction() as s:
            state.put_records(s, name, [(r.id, v, new[r.id]) for r, v, _ in written])
        for r, _, _ in written:
            kind = "updated" if r.id in known else "added"
            setattr(self.result, kind, getattr(self.result, kind) + 1)
            self.progress(kind, 1)

    def _upsert(
        self, todo: list[tuple[Record, str, list[dict[str, Any]]]]
    ) -> list[tuple[Record, str, list[dict[str, Any]]]]:
        """All at once; when the batch is refused, one record at a time to find the bad ones."""
        try:
            res = self.col.upsert([i for _, _, items in todo for i in items])
            self.result.items_written += res.added + res.updated
            return todo
        except InvalidInputError:
            log.info("a batch of %d records was refused; writing them one by one", len(todo))
        ok = []
        for entry in todo:
            try:
                res = self.col.upsert(entry[2])
                self.result.items_written += res.added + res.updated
                ok.append(entry)
            except InvalidInputError as exc:
                self._fail(entry[0].id, str(exc))
        return ok

    def _delete(self, ids: list[str]) -> None:
        """Delete records' items (every chunk), then forget them: never the other way round."""
        name = self.src.name
        with self.db.store.session() as s:
            known = state.records(s, name, ids)
        targets = sorted({i for r in ids for i in known.get(r, (None, []))[1]})
        targets += [doc_id(name, r) for r in ids]  # in case a row was lost: unknown ids are ignored
        self.col.delete(sorted(set(targets)))
        with self.db.store.transaction() as s:
            state.drop_records(s, name, ids)
        n = sum(1 for r in ids if r in known)
        self.result.deleted += n
        self.progress("deleted", n)

    def _key_scan(self, connector: Connector) -> None:
        keys = connector.keys()
        if keys is None:
            return
        present = set(keys)
        with self.db.store.session() as s:
            pages = list(state.record_pages(s, self.src.name))
        for page in pages:
            gone = [r for r in page if r not in present]
            if gone:
                self._delete(gone)

    def _fail(self, record_id: str, reason: str) -> None:
        self.result.failed += 1
        self._error(record_id, reason)
        self.progress("failed", 1)

    def _error(self, record_id: str, reason: str) -> None:
        if len(self.result.errors) < state.MAX_ERRORS:
            self.result.errors.append({"id": record_id, "reason": reason})
