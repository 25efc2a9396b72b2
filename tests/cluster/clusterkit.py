"""Helpers of the sharded-collection tests: a small synthetic collection and its queries."""

from __future__ import annotations

import numpy as np

import latentsearch as ls

DIM = 16
N = 240


def vectors(n: int = N, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, DIM)).astype(np.float32)


def fill(col: ls.Collection, n: int = N, start: int = 0, seed: int = 0) -> None:
    """``n`` items with a ``group`` field (0-3) and an ACL of one of two teams."""
    col.add(
        vectors=vectors(n, seed),
        ids=[f"i{start + i}" for i in range(n)],
        metadata=[{"group": i % 4} for i in range(n)],
        acl=[["team:a"] if i % 3 else ["team:b"] for i in range(n)],
    )


def answers(hits: list[ls.Hit]) -> list[tuple[str, float]]:
    return [(h.id, h.score) for h in hits]


def same(a: list[ls.Hit], b: list[ls.Hit]) -> bool:
    """Same ids in the same order, scores equal to 1e-5."""
    return [h.id for h in a] == [h.id for h in b] and np.allclose(
        [h.score for h in a], [h.score for h in b], atol=1e-5
    )
