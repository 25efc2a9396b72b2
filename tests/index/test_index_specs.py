"""One answer to "is this index approximate?", whoever asks."""

from __future__ import annotations

import numpy as np
import pytest

from latentsearch.index import VectorIndex, approximate, choose, min_train_size, tunable
from latentsearch.index.auto import EXACT_LIMIT

EXACT = ["Flat", "IDMap,Flat", "IDMap2,Flat"]
APPROXIMATE = [
    "IVF4,Flat",
    "IVF8192_HNSW32,Flat",
    "HNSW16",
    "HNSW32,Flat",
    "PQ8",
    "IVF4,PQ8",
    "OPQ8,IVF4,PQ8",
    "SQ8",
    "SQfp16",
    "IVF4,SQ8",
    "LSH",
    "NSG32",
]


@pytest.mark.parametrize("spec", EXACT)
def test_flat_indexes_are_exact(spec: str) -> None:
    assert not approximate(spec)


@pytest.mark.parametrize("spec", APPROXIMATE)
def test_partitions_graphs_and_codes_are_approximate(spec: str) -> None:
    assert approximate(spec)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 1_000, "dim": 16},
        {"n": EXACT_LIMIT - 1, "dim": 16, "storage": "sq8"},
        {"n": 100_000, "dim": 16},
        {"n": 1_000_000, "dim": 16, "storage": "float16"},
        {"n": 500_000, "dim": 16, "gpu": True},
        {"n": 500_000, "dim": 16, "gpu": True, "storage": "float16"},
        {"n": 10_000_000, "dim": 64, "memory_budget": 1 << 30},
    ],
)
def test_automatic_choices_agree(kwargs: dict[str, int]) -> None:
    choice = choose(**kwargs)  # type: ignore[arg-type]
    assert choice.approximate == approximate(choice.spec)


@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF4,Flat", "IVF4,PQ4", "SQ8", "PQ4"])
def test_what_can_be_tuned_is_approximate(spec: str) -> None:
    """`tunable` asks another question (is there a breadth to set?), but never of an exact index."""
    n = max(min_train_size(spec), 200)
    x = np.random.default_rng(0).normal(size=(n, 16)).astype(np.float32)
    vi = VectorIndex(16, spec, device="cpu")
    vi.add(np.arange(n), x)
    assert vi.is_trained
    if tunable(vi):
        assert approximate(spec)
    assert tunable(vi) == (spec in ("HNSW16", "IVF4,Flat", "IVF4,PQ4"))


def test_training_needs() -> None:
    assert min_train_size("Flat") == 1
    assert min_train_size("HNSW32") == 1
    assert min_train_size("IVF64,Flat") == 39 * 64
    assert min_train_size("IVF4,PQ8") == 1000
    assert min_train_size("SQ8") == 1000
