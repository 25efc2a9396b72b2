"""The exact merge of per-shard top-k answers.

Each shard returns its own top-k of the same queries; the global top-k is among their union, so
sorting the union by score (higher first, then lower id, the planner's tie rule) and keeping k is
exact: with an exact index the merged answer is the single-process answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentsearch.index import SearchResult


def merge(parts: Sequence[tuple[np.ndarray, np.ndarray]], n: int, k: int) -> SearchResult:
    """The best ``k`` of each query row over ``parts`` ((scores, ids) of shape (n, k_i));
    missing slots are id -1 with score -inf, as FAISS gives them."""
    if not parts:
        return SearchResult(
            scores=np.full((n, k), -np.inf, dtype=np.float32),
            ids=np.full((n, k), -1, dtype=np.int64),
        )
    scores = np.concatenate([np.asarray(p[0], dtype=np.float32) for p in parts], axis=1)
    ids = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts], axis=1)
    # Missing slots (-1) sort last whatever their score.
    key = np.where(ids < 0, np.inf, -scores.astype(np.float64))
    tie = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    order = np.lexsort((tie, key), axis=1)[:, :k]
    out_ids = np.take_along_axis(ids, order, axis=1)
    out_scores = np.take_along_axis(scores, order, axis=1)
    if out_ids.shape[1] < k:
        pad = ((0, 0), (0, k - out_ids.shape[1]))
        out_ids = np.pad(out_ids, pad, constant_values=-1)
        out_scores = np.pad(out_scores, pad, constant_values=-np.inf)
    return SearchResult(scores=out_scores.astype(np.float32), ids=out_ids)
