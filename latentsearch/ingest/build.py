"""Incremental builds: sources -> documents -> chunks -> `Collection.upsert`, remembering hashes.

For each file the build compares the hash of its bytes (and of the build settings) with the last
build's. An unchanged file is not even parsed. A changed file is streamed: each document's hash
is compared with the one recorded, and only new or changed documents are chunked and written
(and `Collection.upsert` embeds only chunks whose text changed). Documents gone from a file are
deleted; with ``prune``, so are files gone from the sources.

Consistency: items are written first and the state rows recording them after, so a build that is
killed at any point leaves every file either recorded as done (and correct) or still pending,
and the next build resumes, re-embedding nothing it already stored.
"""

from __future__ import annotations

import logging
import os
import time

from latentsearch import Collection, Database
from latentsearch.errors import InvalidInputError
from latentsearch.ingest import state
from latentsearch.ingest.chunking import Chunker, chunker_for
from latentsearch.ingest.documents import Document, LoadError
from latentsearch.ingest.interrupt import StopFlag, deferred_interrupt
from latentsearch.ingest.loaders import load
from latentsearch.ingest.options import (
    BuildOptions,
    file_hash,
    is_under,
    settings_hash,
    source_root,
)
from latentsearch.ingest.report import BuildSummary, NullReporter, Problem, Reporter
from latentsearch.ingest.sources import Filters, ScanProblem, SourceFile, check_sources, scan
from latentsearch.ingest.tables import FILE_DONE, FILE_FAILED, FILE_PENDING
from latentsearch.ingest.writer import PendingDoc, Writer

log = logging.getLogger(__name__)

DOC_BATCH = 256  # documents compared with the recorded state per query


def build(
    db: Database, col: Collection, options: BuildOptions, reporter: Reporter | None = None
) -> BuildSummary:
    """Bring ``col`` up to date with ``options.sources``; see the module docstring."""
    return Builder(db, col, options, reporter or NullReporter()).run()


class Builder:
    def __init__(
        self, db: Database, col: Collection, options: BuildOptions, reporter: Reporter
    ) -> None:
        check_sources(options.sources)
        if options.batch_size < 1:
            raise InvalidInputError(f"batch size must be at least 1, not {options.batch_size}")
        if options.max_file_size < 1:
            raise InvalidInputError(f"max file size must be positive, not {options.max_file_size}")
        self.db, self.col, self.opt, self.rep = db, col, options, reporter
        self.store = db.store
        self.cid = col.id
        self.images = col.identity is not None and "image" in col.identity.modalities
        # Built on first use, so a build with nothing to embed never loads the model.
        self._chunker: Chunker | None = None
        self.settings = settings_hash(col, options)
        self.summary = BuildSummary(collection=col.name)
        self.build_id = 0
        self.writer: Writer | None = None
        self.seen_files: list[int] = []
        self.doc_ids: dict[str, str] = {}  # file document id -> path, to catch collisions
        self.paths: set[str] = set()
        self.known: dict[str, state.FileState] = {}  # the recorded state of every scanned file
        self.stop = StopFlag()  # replaced for the run by one that Ctrl-C sets

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            self._chunker = chunker_for(
                self.col.encoder, self.opt.chunk_size, self.opt.chunk_overlap
            )
        return self._chunker

    # -- the run ----------------------------------------------------------------------
    def run(self) -> BuildSummary:
        started = time.perf_counter()
        with self.store.transaction() as s:
            self.build_id = state.start_build(s, self.cid, [str(x) for x in self.opt.sources])
        self.writer = self.new_writer()
        status = "failed"
        try:
            with deferred_interrupt() as self.stop:
                status = self._run()
        except KeyboardInterrupt:
            status = "interrupted"
            self.summary.interrupted = True
            raise
        finally:
            self.summary.elapsed_s = time.perf_counter() - started
            with self.store.transaction() as s:
                state.finish_build(s, self.build_id, status, self.summary.to_dict())
            self.col.flush()
        return self.summary

    def _run(self) -> str:
        assert self.writer is not None
        files = self._scan()
        self.stop.check()
        with self.store.session() as s:  # one query, not one per file
            self.known = state.file_states(s, self.cid, [str(f.path) for f in files])
        self.rep.start(len(files), sum(f.size for f in files))
        for sf in files:
            self.stop.check()
            self._file(sf)
        self.writer.flush()
        self._mark_seen()
        self._gone()
        return "done"

    def new_writer(self) -> Writer:
        """The writer of this build (a distributed build's embeds in a pool of Ray actors)."""
        return Writer(
            self.col,
            self.store,
            self.cid,
            self.build_id,
            self.opt.batch_size,
            self.summary,
            self.rep,
        )

    def _scan(self) -> list[SourceFile]:
        files: list[SourceFile] = []
        for entry in scan(self.opt.sources, Filters(self.opt.include, self.opt.exclude)):
            if isinstance(entry, ScanProblem):
                if entry.failed:
                    self.summary.fail(Problem(entry.path, entry.reason), file=True)
                else:
                    self.summary.skip(Problem(entry.path, entry.reason))
                continue
            if entry.kind == "image" and not self.images:
                self.summary.skip(
                    Problem(
                        str(entry.path),
                        "an image, and this collection's encoder reads text only (build with --encoder clip)",
                    )
                )
                continue
            files.append(entry)
            self.paths.add(str(entry.path))
            self.summary.files.scanned += 1
            self.rep.scanned(len(files))
        return files

    def _file(self, sf: SourceFile) -> None:
        self.rep.file(sf.doc_id)
        path = str(sf.path)
        other = self.doc_ids.setdefault(sf.doc_id, path)
        if other != path:
            return self._file_failed(
                sf,
                f"its id {sf.doc_id!r} is already taken by {other}; build one of them into another collection",
            )
        if sf.size == 0:
            return self._file_failed(sf, "empty file (0 bytes)")
        if sf.kind != "records" and sf.size > self.opt.max_file_size:
            return self._file_failed(
                sf,
                f"over the size limit ({sf.size:,} > {self.opt.max_file_size:,} bytes; raise --max-file-size)",
            )
        try:
            digest = file_hash(sf.path)
        except PermissionError:
            return self._file_failed(sf, "permission denied")
        except OSError as exc:
            return self._file_failed(sf, f"cannot read: {exc.strerror or exc}")
        known = self.known.get(path)
        same = known is not None and known[1] == digest
        current = known is not None and known[0] == FILE_DONE and known[2] == self.settings
        if same and current and not self.opt.force:
            assert known is not None
            self.summary.files.unchanged += 1
            self.summary.documents.unchanged += known[3]
            self.seen_files.append(known[4])
            self.rep.advance(sf.size)
            return None
        with self.store.transaction() as s:
            fid = state.upsert_file(
                s,
                self.cid,
                path,
                doc_id=sf.doc_id,
                size=sf.size,
                mtime_ns=sf.mtime_ns,
                status=FILE_PENDING,
                error=None,
                build_id=self.build_id,
            )
        if self._read(sf, fid, digest):
            counts = self.summary.files
            if known is None or known[1] is None:
                counts.added += 1
            elif same:  # same bytes, read again: new settings, failed before, or --force
                counts.unchanged += 1
            else:
                counts.updated += 1
        return None

    def _read(self, sf: SourceFile, fid: int, digest: str) -> bool:
        assert self.writer is not None
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            self.rep.advance(n)

        batch: list[Document] = []
        try:
            for doc in load(sf, self.opt.fields, progress):
                batch.append(doc)
                if len(batch) >= DOC_BATCH:
                    self._documents(sf, fid, batch)
                    batch = []
                    self.stop.check()
            self._documents(sf, fid, batch)
        except LoadError as exc:
            self.rep.advance(max(sf.size - done, 0))
            self._file_failed(sf, exc.reason)
            return False
        self.rep.advance(max(sf.size - done, 0))
        writer = self.writer
        writer.when_written(lambda: writer.finish_file(fid, digest, self.settings))
        return True

    def _documents(self, sf: SourceFile, fid: int, docs: list[Document]) -> None:
        assert self.writer is not None
        good: list[Document] = []
        for d in docs:
            if d.error:
                self.writer.fail(fid, Problem(str(sf.path), d.error, d.where))
            else:
                good.append(d)
        if not good:
            return
        with self.store.session() as s:
            known = state.docs(s, self.cid, [d.id for d in good])
        unchanged: list[str] = []
        for d in good:
            digest = d.digest(self.settings)
            prev = known.get(d.id)
            dup = self.writer.pending_in(d.id)
            if dup is None and prev is not None:
                row, other = prev
                if row.build_id == self.build_id or (
                    row.file_id != fid and other in self.paths and other != str(sf.path)
                ):
                    dup = other
            if dup is not None:
                self.writer.fail(
                    fid, Problem(str(sf.path), f"duplicate id {d.id!r}: also in {dup}", d.where)
                )
                continue
            if (
                prev is not None
                and prev[0].record_hash == digest
                and prev[0].file_id == fid
                and not self.opt.force
            ):
                unchanged.append(d.id)
                continue
            self.writer.add(
                PendingDoc(d, fid, str(sf.path), digest, new=prev is None),
                self.chunker,
                self.opt.acl,
            )
        if unchanged:
            self.summary.documents.unchanged += len(unchanged)
            with self.store.transaction() as s:
                state.touch_docs(s, self.cid, unchanged, self.build_id)

    def _file_failed(self, sf: SourceFile, reason: str) -> None:
        """Record a file that could not be read. Its earlier items (if any) stay until it reads again."""
        self.summary.fail(Problem(str(sf.path), reason), file=True)
        with self.store.transaction() as s:
            state.upsert_file(
                s,
                self.cid,
                str(sf.path),
                doc_id=sf.doc_id,
                size=sf.size,
                mtime_ns=sf.mtime_ns,
                status=FILE_FAILED,
                error=reason,
                build_id=self.build_id,
            )

    def _mark_seen(self) -> None:
        with self.store.transaction() as s:
            state.mark_seen(s, self.seen_files, self.build_id)

    def _gone(self) -> None:
        """Files recorded earlier that this build did not see: prune them, or count them."""
        assert self.writer is not None
        roots = [source_root(src) for src in self.opt.sources]
        with self.store.session() as s:
            unseen = [(f.id, f.path) for f in state.unseen_files(s, self.cid, self.build_id)]
        for fid, path in unseen:
            if os.path.exists(path) and not any(is_under(path, r) for r in roots):
                continue  # belongs to sources this build was not asked about
            if not self.opt.prune:
                self.summary.gone += 1
                continue
            self.writer.remove_file(fid)
            self.summary.files.removed += 1
