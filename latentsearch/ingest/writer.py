"""Batched writes for a build: documents from many files are chunked, queued and written together.

`Writer.flush` writes the queued items with `Collection.upsert` (which embeds only new or
changed texts), removes chunks a document no longer has, and only then records the documents'
hashes, so the recorded state never runs ahead of what is stored. Callbacks registered with
`when_written` (a file's completion) run once everything queued before them is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from latentsearch import Collection
from latentsearch.errors import InvalidInputError
from latentsearch.ingest import state
from latentsearch.ingest.chunking import Chunker
from latentsearch.ingest.documents import Document, to_records
from latentsearch.ingest.report import BuildSummary, Problem, Reporter
from latentsearch.ingest.tables import FILE_DONE, FILE_FAILED
from latentsearch.store import Store
from latentsearch.store.models import content_hash

log = logging.getLogger(__name__)

DELETE_BATCH = 1000


@dataclass(slots=True)
class PendingDoc:
    doc: Document
    file_id: int
    path: str
    digest: str
    new: bool


class Writer:
    def __init__(
        self,
        col: Collection,
        store: Store,
        cid: int,
        build_id: int,
        batch_size: int,
        summary: BuildSummary,
        reporter: Reporter,
    ) -> None:
        self.col, self.store, self.cid, self.build_id = col, store, cid, build_id
        self.batch_size = batch_size
        self.summary, self.rep = summary, reporter
        self._queue: list[tuple[PendingDoc, list[dict[str, Any]]]] = []
        self._items = 0
        self._ids: dict[str, str] = {}
        self._callbacks: list[Callable[[], None]] = []
        self._errors: dict[int, tuple[int, str]] = {}  # file id -> (failed records, first reason)

    # -- queueing ---------------------------------------------------------------------
    def pending_in(self, doc_id: str) -> str | None:
        """The file of a queued document with this id, if any (to catch duplicate ids)."""
        return self._ids.get(doc_id)

    def add(self, pd: PendingDoc, chunker: Chunker, acl: list[str] | None) -> None:
        records = to_records(pd.doc, chunker, acl)
        if not records:
            self.fail(pd.file_id, Problem(pd.path, "empty: no text to index", pd.doc.where))
            return
        self._queue.append((pd, records))
        self._ids[pd.doc.id] = pd.path
        self._items += len(records)
        if self._items >= self.batch_size:
            self.flush()

    def when_written(self, fn: Callable[[], None]) -> None:
        if self._queue:
            self._callbacks.append(fn)
        else:
            fn()

    def fail(self, file_id: int, problem: Problem) -> None:
        self.summary.fail(problem, file=False)
        n, first = self._errors.get(file_id, (0, str(problem)))
        self._errors[file_id] = (n + 1, first)

    # -- writing ----------------------------------------------------------------------
    def flush(self) -> None:
        queue, self._queue, self._items, self._ids = self._queue, [], 0, {}
        if queue:
            self._write(queue)
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn()

    def _write(self, queue: list[tuple[PendingDoc, list[dict[str, Any]]]]) -> None:
        doc_ids = [pd.doc.id for pd, _ in queue]
        with self.store.session() as s:
            old = state.item_ids(s, self.cid, doc_ids)
            hashes = state.content_hashes(s, self.cid, [r["id"] for _, recs in queue for r in recs])
        # A document that was one item and is now several chunks: drop the single item first
        # (deleting a document id also deletes items whose parent it is).
        first = [
            pd.doc.id for pd, recs in queue if "chunk" in recs[0] and pd.doc.id in old[pd.doc.id]
        ]
        if first:
            self.col.delete(first)
        written = self._upsert(queue, hashes)
        stale = [
            i
            for pd, recs in written
            for i in sorted(
                old[pd.doc.id] - {r["id"] for r in recs} - {pd.doc.id if pd.doc.id in first else ""}
            )
        ]
        for k in range(0, len(stale), DELETE_BATCH):
            self.col.delete(stale[k : k + DELETE_BATCH])
        by_file: dict[int, list[tuple[str, str, int]]] = {}
        for pd, recs in written:
            by_file.setdefault(pd.file_id, []).append((pd.doc.id, pd.digest, len(recs)))
        with self.store.transaction() as s:
            for file_id, rows in by_file.items():
                state.put_docs(s, self.cid, file_id, self.build_id, rows)
        encoded = sum(_to_encode(r, hashes) for _, recs in written for r in recs)
        docs = self.summary.documents
        docs.added += sum(1 for pd, _ in written if pd.new)
        docs.updated += sum(1 for pd, _ in written if not pd.new)
        self.summary.items_written += sum(len(recs) for _, recs in written)
        self.summary.items_encoded += encoded
        self.report_encoded(encoded)

    def report_encoded(self, items: int) -> None:
        """Progress: ``items`` were embedded (once per flush; a distributed build reports as
        its encoder actors answer)."""
        self.rep.encoded(items)

    def _upsert(
        self, queue: list[tuple[PendingDoc, list[dict[str, Any]]]], hashes: dict[str, str]
    ) -> list[tuple[PendingDoc, list[dict[str, Any]]]]:
        """Write all at once; if the batch is refused, write document by document to find the
        bad ones. ``hashes``: the content hashes already stored for these records' ids."""
        try:
            self.col.upsert([r for _, recs in queue for r in recs])
            return queue
        except InvalidInputError:
            log.info("a batch of %d documents was refused; writing them one by one", len(queue))
        ok = []
        for pd, recs in queue:
            try:
                self.col.upsert(recs)
                ok.append((pd, recs))
            except InvalidInputError as exc:
                self.fail(pd.file_id, Problem(pd.path, str(exc), pd.doc.where))
        return ok

    # -- files ------------------------------------------------------------------------
    def finish_file(self, file_id: int, digest: str, settings: str) -> None:
        """A file was read to the end: delete its documents this build did not see, record it."""
        self._delete_docs(
            file_id, lambda s: state.stale_docs(s, file_id, self.build_id, DELETE_BATCH)
        )
        errors = self._errors.pop(file_id, None)
        with self.store.transaction() as s:
            docs, items = state.file_totals(s, file_id)
            state.set_file(
                s,
                file_id,
                content_hash=digest,
                settings=settings,
                documents=docs,
                items=items,
                status=FILE_FAILED if errors else FILE_DONE,
                error=f"{errors[0]} record(s) not indexed, e.g. {errors[1]}" if errors else None,
            )

    def remove_file(self, file_id: int) -> None:
        """Delete a file's documents from the collection and forget the file (``--prune``)."""
        self._delete_docs(file_id, lambda s: state.doc_ids_of_file(s, file_id, DELETE_BATCH))
        with self.store.transaction() as s:
            state.delete_file(s, file_id)

    def _delete_docs(self, file_id: int, next_batch: Callable[[Any], Sequence[str]]) -> None:
        while True:
            with self.store.session() as s:
                ids = list(next_batch(s))
            if not ids:
                return
            self.col.delete(ids)  # items first, then the state rows: never the other way round
            with self.store.transaction() as s:
                state.delete_docs(s, self.cid, ids)
            self.summary.documents.removed += len(ids)


def _to_encode(record: dict[str, Any], hashes: dict[str, str]) -> int:
    """1 if `Collection.upsert` had to embed this record (its content hash was not stored)."""
    text = record.get("text")
    if text is None:
        return 1
    return int(hashes.get(record["id"]) != content_hash("text", text.encode("utf-8")))
