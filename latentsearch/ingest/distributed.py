"""The distributed build: `latentsearch build --cluster`, autofaiss's approach on Ray Data.

1. read: the driver scans the sources, reads and chunks what changed, exactly as the
   incremental build does (`latentsearch.ingest.build`: same loaders, same state tables);
2. encode: each window of items whose content is not stored yet becomes a Ray Data dataset,
   embedded by a pool of encoder actors, one per CPU or GPU (`latentsearch.ingest.encoder_pool`);
3. write: as vectors stream back, the driver writes every document whose chunks are all
   embedded, in batches, through `Collection.upsert(records, vectors=...)` (SQL first, then
   the index keeper, as every write);
4. index: after a bulk load (the build wrote half the collection or more), `Collection.rebuild()`:
   on a sharded collection the keeper trains the coarse quantizer once on a sample and fills the
   shards in parallel; on a single-process one it is the ordinary rebuild. Then the index is
   saved. A smaller update was applied write by write, like any upsert.

Resuming: items are written before the state rows that record their documents (as in the
incremental build), and ids are the documents' own, so a build killed at any point leaves
either recorded documents (skipped next time), or items without their state row. Those are
read again next time, but their content hashes are already stored: they are neither embedded
again nor written twice (an upsert of the same id and content is a no-op).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentsearch import Collection, Database
from latentsearch.errors import InvalidInputError
from latentsearch.ingest.build import Builder
from latentsearch.ingest.encoder_pool import EncoderPool
from latentsearch.ingest.options import BuildOptions
from latentsearch.ingest.report import BuildSummary, NullReporter, Problem, Reporter
from latentsearch.ingest.writer import PendingDoc, Writer
from latentsearch.store.models import content_hash

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# Items read and chunked before they are handed to the encoder pool as one Ray Data dataset.
# Every window starts its actor pool (a model load per actor), so windows are large; they
# bound the driver's memory (the texts of one window) and what a killed build embeds again.
DEFAULT_WINDOW = 16384

# Test hook (documented in docs/cluster.md): the driver SIGKILLs itself after this many write
# batches, so the resume test can stop a build at a chosen point without a race.
KILL_AFTER_ENV = "LATENTSEARCH_TEST_KILL_AFTER_BATCHES"

# The part of the collection a build must write for the index to be rebuilt at its end.
REBUILD_FRACTION = 0.5

Queue = list[tuple[PendingDoc, list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Where and how wide: the Ray address, encoder actors (None: one per CPU or GPU), items
    per encoder call and per write (`BuildOptions.batch_size`), items per window."""

    cluster: str = "auto"
    workers: int | None = None
    window: int = DEFAULT_WINDOW


def build_distributed(
    db: Database,
    col: Collection,
    options: BuildOptions,
    cluster: ClusterOptions,
    reporter: Reporter | None = None,
) -> BuildSummary:
    """Bring ``col`` up to date with ``options.sources``, embedding on a Ray cluster."""
    if col.identity is None:
        raise InvalidInputError(
            f"collection {col.name!r} stores raw vectors; a build needs an encoder"
        )
    if cluster.window < options.batch_size:
        raise InvalidInputError(
            f"the window ({cluster.window}) must hold at least one batch ({options.batch_size})"
        )
    pool = EncoderPool(cluster.cluster, col.identity, cluster.workers, options.batch_size)
    summary = DistributedBuilder(db, col, options, reporter or NullReporter(), pool, cluster).run()
    # A bulk load (this build wrote at least half the collection) trains the index once on the
    # whole: sharded, once on a sample, then every shard fills in parallel; single-process, the
    # ordinary rebuild. Smaller updates were applied write by write, like any upsert.
    if summary.items_written and summary.items_written >= REBUILD_FRACTION * len(col):
        col.rebuild()
        col.flush()
    return summary


class DistributedBuilder(Builder):
    """The incremental build, with a writer that embeds on the encoder pool."""

    def __init__(
        self,
        db: Database,
        col: Collection,
        options: BuildOptions,
        reporter: Reporter,
        pool: EncoderPool,
        cluster: ClusterOptions,
    ) -> None:
        super().__init__(db, col, options, reporter)
        self.pool, self.cluster = pool, cluster

    def new_writer(self) -> Writer:
        return PoolWriter(
            self.col,
            self.store,
            self.cid,
            self.build_id,
            self.cluster.window,
            self.summary,
            self.rep,
            pool=self.pool,
            write_batch=self.opt.batch_size,
        )


class PoolWriter(Writer):
    """Queues a window of documents, embeds their new texts on the pool, writes as they come."""

    def __init__(self, *args: Any, pool: EncoderPool, write_batch: int) -> None:
        super().__init__(*args)
        self.pool, self.write_batch = pool, write_batch
        self.batches = 0
        kill = os.environ.get(KILL_AFTER_ENV)
        self.kill_after = int(kill) if kill else None

    def report_encoded(self, items: int) -> None:
        pass  # reported live, as the actors answer (`_upsert`)

    def _upsert(self, queue: Queue, hashes: dict[str, str]) -> Queue:
        """Write ``queue``'s documents, each once all its new texts are embedded."""
        todo: list[tuple[int, int]] = []  # (document, record) of every text to embed
        for q, (_, recs) in enumerate(queue):
            for j, r in enumerate(recs):
                text = r.get("text")
                if text is not None and hashes.get(r["id"]) != content_hash(
                    "text", text.encode("utf-8")
                ):
                    todo.append((q, j))
        missing = [0] * len(queue)
        for q, _ in todo:
            missing[q] += 1
        vectors: dict[tuple[int, int], np.ndarray] = {}
        ready = [q for q in range(len(queue)) if not missing[q]]
        written: Queue = []
        for rows, vecs in self._encoded([queue[q][1][j]["text"] for q, j in todo]):
            for row, vec in zip(rows.tolist(), vecs, strict=True):
                q, j = todo[row]
                vectors[q, j] = vec
                missing[q] -= 1
                if not missing[q]:
                    ready.append(q)
            self.rep.encoded(len(rows))
            if sum(len(queue[q][1]) for q in ready) >= self.write_batch:
                written += self._write_ready(queue, ready, vectors)
                ready = []
        written += self._write_ready(queue, ready, vectors)
        return written

    def _encoded(self, texts: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from self.pool.encode(texts)

    def _write_ready(
        self, queue: Queue, ready: list[int], vectors: dict[tuple[int, int], np.ndarray]
    ) -> Queue:
        """Write these documents in one batch; if it is refused, one by one to find the bad ones."""
        if not ready:
            return []
        docs = [queue[q] for q in sorted(ready)]
        try:
            self._write_docs(docs, sorted(ready), vectors)
            ok = docs
        except InvalidInputError:
            log.info("a batch of %d documents was refused; writing them one by one", len(docs))
            ok = []
            for q in sorted(ready):
                pd, recs = queue[q]
                try:
                    self._write_docs([queue[q]], [q], vectors)
                    ok.append((pd, recs))
                except InvalidInputError as exc:
                    self.fail(pd.file_id, Problem(pd.path, str(exc), pd.doc.where))
        for q in ready:
            for j in range(len(queue[q][1])):
                vectors.pop((q, j), None)
        self._batch_written()
        return ok

    def _write_docs(
        self, docs: Queue, qs: list[int], vectors: dict[tuple[int, int], np.ndarray]
    ) -> None:
        import numpy as np

        embedded: list[dict[str, Any]] = []
        vecs: list[np.ndarray] = []
        stored: list[dict[str, Any]] = []  # content already stored: nothing to embed
        for q, (_, recs) in zip(qs, docs, strict=True):
            for j, r in enumerate(recs):
                v = vectors.get((q, j))
                if v is None:
                    stored.append(r)
                else:
                    embedded.append(r)
                    vecs.append(v)
        if embedded:
            self.col.upsert(embedded, vectors=np.stack(vecs))
        if stored:
            self.col.upsert(stored)

    def _batch_written(self) -> None:
        self.batches += 1
        if self.kill_after is not None and self.batches >= self.kill_after:
            log.warning("%s=%d: killing this build (a test hook)", KILL_AFTER_ENV, self.kill_after)
            os.kill(os.getpid(), signal.SIGKILL)
