"""Quantised codes refined from disk: the float16 vector file, rescoring, recall on clustered
data (RaBitQ, PQ, binary), the automatic choice of codes under a memory budget, and a
collection's vector file kept in step with writes and rebuilt from the store when it is lost
or damaged. Real FAISS and real SQLite stores throughout."""

from __future__ import annotations

import time

import faiss
import numpy as np
import pytest

import latentsearch as ls
from latentsearch.index import VectorIndex
from latentsearch.index.auto import choose, code_bytes
from latentsearch.index.files import index_name
from latentsearch.index.specs import refined
from latentsearch.index.tuning import recall_at_k, tune
from latentsearch.index.vectorfile import VectorFile

DIM = 32


def mixture(n: int, seed: int) -> np.ndarray:
    """Clustered unit vectors (a Gaussian mixture), so recall is a real question."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).normal(size=(64, DIM))
    x = centers[rng.integers(len(centers), size=n)] + 0.35 * rng.normal(size=(n, DIM))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_vector_file_rows_by_id(tmp_path) -> None:
    vf = VectorFile(tmp_path, "c", 4)
    x = np.arange(24, dtype=np.float32).reshape(6, 4) / 8
    vf.write(np.array([7, 3, 4, 5, 20, 0]), x)  # out of order, with gaps: one pwrite per run
    got = vf.read(np.array([3, 20, 7, -1, 99, 1]))
    np.testing.assert_array_equal(got[:3], x[[1, 4, 0]])
    assert not got[3:].any()  # -1, past the end, and a gap read as zeros
    assert vf.checkpoint() is None
    vf.mark(12)
    assert VectorFile(tmp_path, "c", 4).checkpoint() == 12
    assert VectorFile(tmp_path, "c", 8).checkpoint() is None  # another dimension: not ours
    assert vf.matches(np.array([4, 5]), x[[2, 3]]) and not vf.matches(np.array([4]), x[[3]])
    vf.drop()
    assert not vf.path.exists() and vf.checkpoint() is None


@pytest.mark.parametrize(
    ("spec", "target"), [("IVF32,RaBitQ", 0.95), ("IVF32,PQ8np", 0.95), ("LSHt", 0.9)]
)
def test_refined_codes_meet_the_recall_target(tmp_path, spec: str, target: float) -> None:
    # One OpenMP thread: on a busy machine, FAISS's parallel regions wait for descheduled
    # threads at every barrier (training is many small ones); answers do not depend on it.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        _check_refined(tmp_path, spec, target)
    finally:
        faiss.omp_set_num_threads(threads)


def _check_refined(tmp_path, spec: str, target: float) -> None:
    x, queries = mixture(6000, 1), mixture(200, 2)
    ids = np.arange(1, len(x) + 1)
    _, truth = faiss.knn(queries, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    assert refined(spec)
    vi = VectorIndex(DIM, spec, device="cpu")
    vi.add(ids, x)  # not refined: codes alone
    coarse = recall_at_k(vi.search(queries, 10, params={"nprobe": 32}).ids - 1, truth)
    vi = VectorIndex(DIM, spec, device="cpu")
    vi.attach(VectorFile(tmp_path, "c", DIM))
    vi.add(ids, x)
    sample = np.arange(0, len(x), 12)
    _, own = faiss.knn(x[sample], x, 11, metric=faiss.METRIC_INNER_PRODUCT)
    result = tune(vi, x[sample], ids[sample], own[:, 1:] + 1, target)
    vi.search_params.update(result.params)
    found = vi.search(queries, 10)
    assert recall_at_k(found.ids - 1, truth) >= target > coarse
    exact = np.einsum("qd,qkd->qk", queries, x[found.ids - 1])  # scores are exact (float16 rows)
    np.testing.assert_allclose(found.scores, exact, atol=2e-3)


def test_auto_chooses_codes_under_a_budget() -> None:
    n, d = 10_000_000, 384
    assert choose(n, d, memory_budget=5 << 30).spec == "IVF8192_HNSW32,SQ8"
    rq = choose(n, d, memory_budget=4 << 30)  # SQ8 codes would take 4.4 GB with overhead
    assert rq.spec == "IVF8192_HNSW32,RaBitQ" and rq.estimated_bytes(n) <= 1 << 30
    assert "refined from disk" in rq.reason
    assert choose(n, d, memory_budget=300 << 20).spec == "IVF8192_HNSW32,PQ24np"
    assert choose(n, d, storage="rabitq").spec == "IVF8192_HNSW32,RaBitQ"
    assert choose(n, d, storage="pq").spec == "IVF8192_HNSW32,PQ48np"
    assert choose(n, d, storage="binary").spec == "LSHt"
    assert choose(1000, d, storage="rabitq").spec == "RaBitQ"  # small: a flat scan of codes
    assert code_bytes("rabitq", d) == 56 and code_bytes("binary", d) == 48


def _recall(col: ls.Collection, x: np.ndarray, queries: np.ndarray, gone: int) -> float:
    keep = np.delete(np.arange(len(x)), gone)
    _, pos = faiss.knn(queries, x[keep], 10, metric=faiss.METRIC_INNER_PRODUCT)
    truth = keep[pos]
    found = [[int(h.id[1:]) for h in hits] for hits in col.search_batch(queries, k=10)]
    return recall_at_k(np.asarray(found), truth)


def test_collection_vector_file_in_step_and_rebuilt(tmp_path) -> None:
    x, queries = mixture(5000, 3), mixture(100, 4)
    with ls.connect(tmp_path, device="cpu") as db:
        col = db.create_collection("c", dim=DIM, index="IVF32,RaBitQ")
        col.add(vectors=x[:4000], ids=[f"v{i}" for i in range(4000)])
        col.flush()
        assert col.index_info().params.get("refine")
        # writes after the build land in the file at once, and are found with exact scores
        col.add(vectors=x[4000:], ids=[f"v{i}" for i in range(4000, 5000)])
        hit = col.search_vectors(x[4321], k=1)[0][0]
        assert hit.id == "v4321" and abs(hit.score - 1.0) < 2e-3
        col.delete(ids=["v4321"])
        assert col.search_vectors(x[4321], k=1)[0][0].id != "v4321"
        assert _recall(col, x, queries, 4321) >= 0.9
    vf = VectorFile(tmp_path, index_name(1), DIM)
    assert vf.checkpoint() is not None and vf.rows >= 5000
    live = np.delete(np.arange(5000), 4321)  # item v{i} has key i + 1
    want = x[live]  # as stored: normalised again, then float16
    np.testing.assert_allclose(vf.read(live + 1), want, atol=1e-3)
    size = vf.path.stat().st_size

    vf.path.unlink()  # lost: rebuilt from the store when the collection opens
    with ls.connect(tmp_path, device="cpu") as db:
        assert db.collection("c").search_vectors(x[17], k=1)[0][0].id == "v17"
    np.testing.assert_allclose(vf.read(live + 1), want, atol=1e-3)

    rng = np.random.default_rng(5)  # damaged in place, same size: the spot check notices
    vf.path.write_bytes(rng.integers(0, 255, size, dtype=np.uint8).tobytes())
    with ls.connect(tmp_path, device="cpu") as db:
        col = db.collection("c")
        assert col.search_vectors(x[17], k=1)[0][0].id == "v17"
        assert _recall(col, x, queries, 4321) >= 0.9
    np.testing.assert_allclose(vf.read(live + 1), want, atol=1e-3)


def test_vector_files_follow_their_collection(tmp_path) -> None:
    """A live collection's vector file is never swept; a dropped one's goes with its index."""
    from latentsearch.index.files import disk_bytes, sweep

    vf = VectorFile(tmp_path, index_name(5), 4)
    vf.write(np.array([1, 2]), np.ones((2, 4), dtype=np.float32))
    vf.mark(3)
    assert disk_bytes(tmp_path, index_name(5)) >= 2 * 4 * 2
    later = time.time() + 3600
    assert sweep(tmp_path, [5], now=later) == [] and vf.checkpoint() == 3
    assert sorted(p.name for p in sweep(tmp_path, [], now=later)) == [
        "collection-5.vectors.f16",
        "collection-5.vectors.json",
    ]
