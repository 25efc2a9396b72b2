"""Tuning's ground truth and recall (faiss.contrib) against plain numpy brute force."""

from __future__ import annotations

import numpy as np
import pytest

from latentsearch.index import GroundTruth
from latentsearch.index.tuning import recall_at_k


def brute(
    queries: np.ndarray, qids: np.ndarray, x: np.ndarray, ids: np.ndarray, k: int, metric: str
):
    """Each query's k nearest ids (its own id left out), by numpy alone."""
    if metric == "l2":
        scores = -((queries[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    else:
        scores = queries @ x.T
    out = []
    for row, own in zip(scores, qids, strict=True):
        order = ids[np.argsort(-row, kind="stable")]
        out.append(order[order != own][:k])
    return np.array(out)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("chunk", [1000, 333, 7])
def test_ground_truth_matches_brute_force(metric: str, chunk: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 24)).astype(np.float32)
    if metric == "cosine":
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(2000, dtype=np.int64) * 5 + 11  # ids are not positions
    pick = rng.choice(2000, 50, replace=False)
    truth = GroundTruth(x[pick], ids[pick], 10, metric)
    for s in range(0, len(x), chunk):  # fed chunk by chunk, as an index build streams them
        truth.add(ids[s : s + chunk], x[s : s + chunk])
    assert np.array_equal(truth.neighbours(), brute(x[pick], ids[pick], x, ids, 10, metric))


def test_ground_truth_with_fewer_vectors_than_k_pads_with_minus_one() -> None:
    x = np.eye(4, dtype=np.float32)
    truth = GroundTruth(x[:2], np.array([0, 1]), 5, "cosine")
    truth.add(np.arange(4), x)
    got = truth.neighbours()
    assert got.shape == (2, 5)
    assert (got[:, 3:] == -1).all() and sorted(got[0, :3]) == [1, 2, 3]


def test_recall_counts_shared_ids_over_the_true_ones() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, -1, -1]])
    found = np.array([[4, 9, 1, -1], [6, -1, -1, -1]])
    assert recall_at_k(found, truth) == 3 / 6
    assert recall_at_k(found[:, :2], truth) == 2 / 6  # a narrower answer
    assert recall_at_k(truth, truth) == 1.0
    assert recall_at_k(found, np.full((2, 4), -1)) == 1.0  # nothing to find
