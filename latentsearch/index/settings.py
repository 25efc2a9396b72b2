"""FAISS's process-wide settings and per-search thread control.

Importing `latentsearch.index` changes nothing in FAISS. `configure` applies latentsearch's
settings when called, which `Database` does when it opens (so every search through the public
API runs with them); a program that uses `VectorIndex` alone may call it itself.

OpenMP's thread count is a per-thread setting: `omp_set_num_threads` in one thread leaves the
server's worker threads at the default. So the count given to `configure` is also kept here, and
every search applies it on the thread it runs on (`threads_for`, which also narrows small
searches to one thread) and puts the thread's own setting back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from latentsearch.errors import InvalidInputError
from latentsearch.index.primitives import faiss

log = logging.getLogger(__name__)

# FAISS 1.15 runs exhaustive search through BLAS sgemm when queries × dimension (the floats of
# the query batch, not the number of queries) reach this threshold. Its default, 128,000, keeps
# batches of up to 333 384-d queries on the scalar loop: 200 queries over 50k vectors took 564 ms
# instead of 85 ms on one core. Too low a value is as bad the other way: at 20, one query over
# 200k 384-d vectors took 54 ms through sgemm instead of 12 ms, and an IVF1024 search (whose
# coarse step is such a search) 0.17 instead of 0.074 ms. Measured on 2 cores (AMD EPYC),
# sgemm wins from 8 queries of 384-d with 1 thread or 2, hence 8 × 384. The setting only
# changes speed (and float rounding in the last bit), never which vectors are compared.
BLAS_THRESHOLD = 8 * 384
SINGLE_THREAD_WORK = 1 << 25  # queries x vectors x dim below which a search runs on one thread
# With fewer queries than threads, FAISS 1.15 splits a flat search over the database and runs
# sgemm one query at a time in each slice. On 2 cores that took 28.5 ms for one query over 200k
# 384-d vectors, against 12.1 ms for its sequential kernel on one thread (sgemm with one query
# costs 4.5× the sequential kernel per thread). Up to this many threads, such searches run on one.
FEW_THREADS = 4

_threads: int | None = None  # the count given to `configure`; None: each thread's own setting


@dataclass(frozen=True, slots=True)
class Settings:
    """FAISS's process-wide settings in effect after `configure`."""

    threads: int  # OpenMP threads a search may use (before `threads_for` narrows it)
    blas_threshold: int  # queries × dim from which exhaustive search uses sgemm


def configure(
    *, threads: int | None = None, blas_threshold: int | None = BLAS_THRESHOLD
) -> Settings:
    """Apply latentsearch's FAISS settings to this process; calling it again changes nothing.

    ``threads``: OpenMP threads for every search, and for other FAISS work on the calling thread
    (None leaves the count as it is; FAISS's default is one per core).
    ``blas_threshold``: FAISS's ``distance_compute_blas_threshold`` is lowered to this (see
    `BLAS_THRESHOLD`); a lower value that the program set itself stays. None leaves it alone.
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InvalidInputError(f"threads must be a positive integer, not {threads!r}")
        global _threads
        _threads = threads
        faiss.omp_set_num_threads(threads)
    if blas_threshold is not None:
        if isinstance(blas_threshold, bool) or not isinstance(blas_threshold, int):
            raise InvalidInputError(f"blas_threshold must be an integer, not {blas_threshold!r}")
        if faiss.cvar.distance_compute_blas_threshold > blas_threshold:
            faiss.cvar.distance_compute_blas_threshold = blas_threshold
            log.debug("FAISS BLAS threshold set to %d", blas_threshold)
    return current()


def current() -> Settings:
    """FAISS's process-wide settings now (threads: as configured, else this thread's)."""
    return Settings(
        threads=int(_threads or faiss.omp_get_max_threads()),
        blas_threshold=int(faiss.cvar.distance_compute_blas_threshold),
    )


@contextlib.contextmanager
def threads_for(queries: int, work: int) -> Iterator[None]:
    """Run a search on this thread alone where more threads would cost more than they give
    (OpenMP's setting is per calling thread).

    * Small searches: waking OpenMP workers for a few microseconds of work (even IndexIDMap's
      label translation opens a parallel region) costs more than the work, and on a busy machine
      a worker that is not scheduled stalls the whole search for milliseconds: one query over
      1,400 vectors took 20-30 ms instead of 0.05 ms at a load of 10 on 2 cores.
    * Fewer queries than threads, on up to `FEW_THREADS` threads (see there).

    Other searches use every thread: the count given to `configure`, else this thread's own.
    """
    own = faiss.omp_get_max_threads()
    threads = _threads or own
    alone = work <= SINGLE_THREAD_WORK or queries < threads <= FEW_THREADS
    use = 1 if alone else threads
    if use == own:
        yield
        return
    faiss.omp_set_num_threads(use)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(own)
