"""The fast paths: hits hydrated in one SQL statement (no N+1), and batched writes that store and
find exactly what item-by-item writes do. SQLite and PostgreSQL, real model and FAISS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

import latentsearch as ls
from latentsearch.db import Database
from latentsearch.ingest.build import build
from latentsearch.ingest.options import BuildOptions
from latentsearch.store import items as sql

TEXTS = [
    "Lift on a swept wing at low speed.",
    "Boundary layer transition on a flat plate, with a long discussion of heat transfer.",
    "Shock waves in supersonic nozzles.",
    "Buckling of thin cylindrical shells under axial compression and external pressure.",
    "Jet engines.",
    "Hypersonic flow over a blunt body: the stagnation-point heat flux and the shock stand-off distance.",
    "Flutter of panels.",
    "Vortex shedding behind a circular cylinder.",
]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the database's engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn, _cursor, stmt: str, *_args: object) -> None:
        seen.append(" ".join(stmt.split()))

    event.listen(db.store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.store.engine, "before_cursor_execute", record)


def _hydrations(seen: list[str]) -> list[str]:
    """Statements that read item rows (the hits' text, metadata and source)."""
    return [s for s in seen if s.startswith("SELECT") and "items.external_id" in s]


@pytest.fixture
def db(database: str | None, tmp_path: Path) -> Iterator[Database]:
    with ls.connect(tmp_path / "idx", database=database) as d:
        yield d


def test_one_statement_hydrates_all_hits(db: Database) -> None:
    col = db.create_collection("fast", encoder="text", index="Flat")
    col.add(
        [
            {"id": f"d{i}", "text": t, "metadata": {"n": i}, "source": {"uri": f"f{i}.txt"}}
            for i, t in enumerate(TEXTS)
        ]
    )
    col.search("warm up: load the model and the index", k=2)
    with statements(db) as seen:
        hits = col.search("heat transfer at high speed", k=5)
    assert len(hits) == 5 and all(h.metadata and h.source.uri for h in hits)
    # A plain search takes `query.fastpath`: hit rows and seq in one DBAPI statement, below
    # SQLAlchemy's events (tests/query/test_fastpath.py counts it).
    assert seen == [], seen
    # A filtered search takes the general path: still one statement for every hit's row.
    where = {"n": {"$gte": 0}}
    with statements(db) as seen:
        hits = col.search("heat transfer at high speed", k=5, where=where)
    assert len(hits) == 5 and all(h.metadata and h.source.uri for h in hits)
    assert len(_hydrations(seen)) == 1, seen
    assert len(seen) <= 4, seen  # a bounded number of round trips, whatever k is
    with statements(db) as seen:
        batch = col.search_batch(["shells", "nozzles", "panels"], k=len(TEXTS), where=where)
    assert [len(b) for b in batch] == [len(TEXTS)] * 3
    assert len(_hydrations(seen)) == 1, seen


def test_one_batched_write_equals_item_by_item_writes(db: Database) -> None:
    """Big encoder calls (sorted by length, padded less) give the same vectors and answers."""
    together = db.create_collection("together", encoder="text", index="Flat")
    apart = db.create_collection("apart", encoder="text", index="Flat")
    records = [{"id": f"d{i}", "text": t, "metadata": {"n": i}} for i, t in enumerate(TEXTS)]
    together.add(records)
    for r in records:
        apart.add([r])
    for col in (together, apart):
        assert len(col) == len(TEXTS) and col.verify()
    with db.store.session() as s:
        a = {
            r.external_id: r.id
            for r in sql.existing(s, together.id, [r["id"] for r in records]).values()
        }
        b = {
            r.external_id: r.id
            for r in sql.existing(s, apart.id, [r["id"] for r in records]).values()
        }
        va = sql.vectors_for(s, [a[r["id"]] for r in records], together.dim)
        vb = sql.vectors_for(s, [b[r["id"]] for r in records], apart.dim)
    assert np.allclose(va, vb, atol=1e-5)
    for q in ("heat transfer", "wings", "cylinders"):
        assert [h.id for h in together.search(q, k=4)] == [h.id for h in apart.search(q, k=4)]


def test_build_batch_size_does_not_change_what_is_stored(tmp_path: Path) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    for i, t in enumerate(TEXTS):
        (src / f"doc{i}.txt").write_text(t)
    stored = []
    for batch in (1, 512):
        with ls.connect(tmp_path / f"idx{batch}") as db:
            col = db.create_collection("c", encoder="text", index="Flat")
            summary = build(db, col, BuildOptions(sources=[str(src)], batch_size=batch))
            assert summary.items_written == len(TEXTS)
            hits = col.search_batch(["heat transfer", "wings"], k=len(TEXTS))
            stored.append([[(h.id, round(h.score, 4)) for h in row] for row in hits])
    assert stored[0] == stored[1]


def test_small_searches_run_on_one_thread_and_restore_the_setting() -> None:
    import faiss

    from latentsearch.index import VectorIndex

    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 16)).astype(np.float32)
    index = VectorIndex(16, "Flat", "cosine", "cpu")
    index.add(np.arange(300, dtype=np.int64), x / np.linalg.norm(x, axis=1, keepdims=True))
    before = faiss.omp_get_max_threads()
    one = index.search(x[:1], 5)
    many = index.search(x[:50], 5)  # same answers whatever the thread count
    assert faiss.omp_get_max_threads() == before
    assert np.array_equal(one.ids[0], many.ids[0]) and one.ids[0][0] == 0


def test_thread_rule_keeps_few_queries_on_one_thread_on_small_machines() -> None:
    import faiss

    from latentsearch.index.settings import FEW_THREADS, SINGLE_THREAD_WORK, threads_for

    before = faiss.omp_get_max_threads()
    big = SINGLE_THREAD_WORK * 10
    try:
        faiss.omp_set_num_threads(2)
        with threads_for(1, big):  # one query, 2 threads: FAISS would split the database
            assert faiss.omp_get_max_threads() == 1
        assert faiss.omp_get_max_threads() == 2
        with threads_for(2, big):  # as many queries as threads: FAISS splits the queries
            assert faiss.omp_get_max_threads() == 2
        faiss.omp_set_num_threads(FEW_THREADS + 1)
        with threads_for(1, big):  # enough threads for the database split to pay
            assert faiss.omp_get_max_threads() == FEW_THREADS + 1
        with threads_for(1, SINGLE_THREAD_WORK):  # small work: always one thread
            assert faiss.omp_get_max_threads() == 1
    finally:
        faiss.omp_set_num_threads(before)


def test_one_query_stays_off_sgemm(tmp_path: Path) -> None:
    """FAISS compares its BLAS threshold with queries × dim: one 768-d query must stay on its
    sequential kernel (sgemm for one query was 4.5× slower), a batch of 8 384-d ones must not."""
    import faiss

    with ls.connect(tmp_path):  # opening a Database applies the setting (`index.configure`)
        pass
    threshold = faiss.cvar.distance_compute_blas_threshold
    assert 1 * 768 < threshold <= 8 * 384
