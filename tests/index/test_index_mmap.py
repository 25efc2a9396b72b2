"""A memory-mapped index is read in through the file it was loaded from (on every system)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentsearch.index import VectorIndex


def data(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("spec", ["IVF8,Flat", "Flat"])
def test_first_write_reads_the_loaded_file_even_after_a_newer_save(
    tmp_path: Path, spec: str
) -> None:
    x = data(1000, 0)
    first = VectorIndex(16, spec, device="cpu")
    first.add(np.arange(1000), x)
    first.save(tmp_path, "c", checkpoint=1)
    loaded = VectorIndex.load(tmp_path, "c", dim=16, spec=spec, metric="cosine", mmap=True)
    assert loaded is not None
    mapped, _ = loaded
    assert mapped.mapped
    # Another writer saves a different index under the same name: the old data file is removed.
    other = VectorIndex(16, spec, device="cpu")
    other.add(np.arange(5000, 6000), data(1000, 1))
    other.save(tmp_path, "c", checkpoint=2)
    mapped.add([2000], x[:1] * -1)  # reads the file it mapped, not the newer one
    assert not mapped.mapped
    assert mapped.ntotal == 1001 and mapped.search(x[7], 1).ids[0, 0] == 7
    assert set(mapped.ids()) == set(range(1000)) | {2000}


def test_a_mapped_index_saves_completely(tmp_path: Path) -> None:
    x = data(1000, 2)
    vi = VectorIndex(16, "IVF8,Flat", device="cpu")
    vi.add(np.arange(1000), x)
    vi.save(tmp_path, "c", checkpoint=1)
    loaded = VectorIndex.load(tmp_path, "c", dim=16, spec="IVF8,Flat", metric="cosine", mmap=True)
    assert loaded is not None
    loaded[0].save(tmp_path, "c", checkpoint=3)  # reads it in first: a mapped IVF is a reference
    again = VectorIndex.load(tmp_path, "c", dim=16, spec="IVF8,Flat", metric="cosine", mmap=False)
    assert again is not None and again[1] == 3 and list(again[0].ids()) == list(range(1000))
