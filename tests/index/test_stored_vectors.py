"""`VectorIndex.stored_vectors`: the exact float32 vectors of ids, where the codes hold them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentsearch.index import VectorIndex

X = np.random.default_rng(0).normal(size=(600, 8)).astype(np.float32)
IDS = np.arange(1000, 1600, dtype=np.int64)


@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF4,Flat"])
def test_exact_codes_give_the_vectors_through_adds_and_removes(spec: str, tmp_path: Path) -> None:
    vi = VectorIndex(8, spec, "l2", device="cpu")
    vi.add(IDS[:500], X[:500])  # IVF: trained from the buffer on the way
    pick = np.array([1000, 1499, 1250])
    np.testing.assert_array_equal(vi.stored_vectors(pick), X[pick - 1000])
    vi.remove(np.array([1250, 1251]))  # an IVF direct map takes the removal in step
    vi.add(IDS[500:], X[500:])
    np.testing.assert_array_equal(vi.stored_vectors(np.array([1599, 1252])), X[[599, 252]])
    assert vi.stored_vectors(np.array([5])) is None  # an id the index never held
    if vi.removable:
        assert vi.stored_vectors(np.array([1250])) is None
        # Searches still see the removal; the map and the lists agree.
        got = vi.search(X[250:251], 3)
        assert 1250 not in got.ids[0] and got.ids[0][0] != -1
    vi.save(tmp_path, "x", checkpoint=1)
    loaded = VectorIndex.load(tmp_path, "x", dim=8, spec=spec, metric="l2", device="cpu")
    assert loaded is not None
    again = loaded[0]
    np.testing.assert_array_equal(again.stored_vectors(np.array([1599])), X[[599]])
    again.remove(np.array([1599]))
    assert again.stored_vectors(np.array([1599])) is None or not again.removable


@pytest.mark.parametrize("spec", ["IVF4,SQ8", "HNSW16,SQ8", "IVF4,PQ2"])
def test_quantised_codes_give_none(spec: str) -> None:
    vi = VectorIndex(8, spec, "l2", device="cpu")
    x = np.random.default_rng(1).normal(size=(1000, 8)).astype(np.float32)
    vi.add(np.arange(1000, 2000), x)
    assert vi.is_trained
    assert vi.stored_vectors(np.array([1000, 1001])) is None
