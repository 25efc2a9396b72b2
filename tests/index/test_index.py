"""The FAISS layer on its own: numpy in, numpy out."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from latentsearch.errors import DimensionMismatchError, IndexBuildError, InvalidInputError
from latentsearch.index import VectorIndex, choose_spec, min_train_size
from latentsearch.index.auto import EXACT_LIMIT


def data(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(x @ q))[:k]]


def test_flat_search_with_allowed_ids_is_exact() -> None:
    x, ids = data(500), np.arange(1000, 1500)
    vi = VectorIndex(16, "Flat", device="cpu")
    vi.add(ids, x)
    allowed = ids[::7]
    res = vi.search(x[:3], 5, allowed=allowed)
    mask = np.isin(ids, allowed)
    for qi in range(3):
        assert list(res.ids[qi]) == list(brute(x[mask], ids[mask], x[qi], 5))


def test_ivf_waits_for_training_data_and_searches_exactly_meanwhile() -> None:
    vi = VectorIndex(16, "IVF4,Flat", device="cpu")
    need = min_train_size("IVF4,Flat")
    x = data(need + 10)
    vi.add(np.arange(50), x[:50])
    assert not vi.is_trained and vi.ntotal == 50
    assert vi.search(x[3], 1).ids[0, 0] == 3  # exact while pending
    vi.add(np.arange(50, need + 10), x[50:])
    assert vi.is_trained and vi.ntotal == need + 10 and vi.trained_on == need + 10
    assert not vi.needs_retrain()
    vi.add(np.arange(10_000, 10_000 + 3 * (need + 10)), data(3 * (need + 10), seed=1))
    assert vi.needs_retrain()


def test_hnsw_deletes_are_hidden_by_selector() -> None:
    x = data(300)
    vi = VectorIndex(16, "HNSW16", device="cpu")
    vi.add(np.arange(300), x)
    assert not vi.removable
    vi.remove(np.arange(0, 300, 2))
    assert vi.ntotal == 150 and vi.needs_compaction()
    res = vi.search(x[:20], 10)
    assert (res.ids % 2 == 1).all()
    assert list(vi.ids()) == list(range(1, 300, 2))


def test_save_load_roundtrip(tmp_path) -> None:
    x = data(100)
    vi = VectorIndex(16, "HNSW16", device="cpu")
    vi.add(np.arange(100), x)
    vi.remove([5])
    vi.save(tmp_path, "c", checkpoint=7)
    loaded = VectorIndex.load(tmp_path, "c", dim=16, spec="HNSW16", metric="cosine", device="cpu")
    assert loaded is not None
    vi2, cp = loaded
    assert cp == 7 and vi2.deleted == {5} and list(vi2.ids()) == list(vi.ids())
    assert (
        VectorIndex.load(tmp_path, "c", dim=16, spec="Flat", metric="cosine") is None
    )  # spec changed
    VectorIndex.drop(tmp_path, "c")
    assert list(tmp_path.iterdir()) == []


def test_errors() -> None:
    with pytest.raises(IndexBuildError, match="factory string"):
        VectorIndex(16, "IVF,,Bogus")
    vi = VectorIndex(16, "Flat", device="cpu")
    with pytest.raises(DimensionMismatchError):
        vi.add([1], np.ones((1, 8)))
    with pytest.raises(InvalidInputError):
        vi.add([1, 2], np.ones((1, 16)))
    with pytest.raises(InvalidInputError):
        vi.search(np.ones(16), 0)
    with pytest.raises(IndexBuildError, match="training vectors"):
        VectorIndex(16, "IVF64,Flat").train(data(10))


def test_auto_choice() -> None:
    assert choose_spec(10, 384) == "Flat"
    assert choose_spec(EXACT_LIMIT - 1, 384) == "Flat"
    spec = choose_spec(1_000_000, 384)
    assert spec == "IVF2048,Flat"  # 4·sqrt(n) = 4000, rounded down to a power of two
    assert 39 * int(choose_spec(EXACT_LIMIT, 384)[3:].split(",")[0]) <= EXACT_LIMIT


@pytest.mark.gpu
@pytest.mark.skipif(faiss.get_num_gpus() == 0, reason="needs a GPU")
def test_gpu_clone_matches_cpu_and_selectors_stay_exact() -> None:
    x = data(5000, 64)
    ids = np.arange(5000)
    cpu = VectorIndex(64, "Flat", device="cpu")
    gpu = VectorIndex(64, "Flat", device="cuda")
    for vi in (cpu, gpu):
        vi.add(ids, x)
    a, b = cpu.search(x[:10], 10), gpu.search(x[:10], 10)
    assert gpu.gpu.clone is not None  # really searched on the GPU
    np.testing.assert_array_equal(a.ids, b.ids)
    allowed = ids[::13]
    np.testing.assert_array_equal(
        cpu.search(x[:10], 10, allowed).ids, gpu.search(x[:10], 10, allowed).ids
    )
