"""S3's shared workload: the vectors, metadata, ACLs, queries and filters every system sees.

Deterministic from (n, nq): the parent (ours) and the peers' child processes rebuild the same
data from the seed instead of shipping it. Filters are given once in latentsearch's language and
translated for each peer; permissions become a metadata field filter for peers (they have none).

Metadata per item: ``b`` a uniform integer in [0, 1000) (0.1%: ``b == v``; 1%: ``v <= b < v+10``),
``color`` one of 10 strings (10%: one colour; 50%: ``$in`` five of them). ACL: 10% of items are
public (``"*"``), the rest belong to one of four groups; the caller is ``group:g1`` (sees ~32%).
Each query gets its own filter value, so no two consecutive queries repeat a filter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.data import gaussian_mixture

K = 10
DIM = 384
COLORS = [f"c{i}" for i in range(10)]
CALLER = ["group:g1"]
VISIBLE_GROUPS = ["g1", "*"]  # what the caller sees, as the peers' metadata field ``grp``
SELECTIVITIES = ["0.1%", "1%", "10%", "50%"]
CASES = ["none"] + [f"{s}{p}" for s in SELECTIVITIES for p in ("", "+acl")]


@dataclass
class Workload:
    x: np.ndarray  # (n, DIM) unit rows
    q: np.ndarray  # (nq, DIM) unit rows
    b: np.ndarray
    color: np.ndarray  # indices into COLORS
    grp: list[str]  # "g0".."g3" or "*"

    @property
    def n(self) -> int:
        return len(self.x)

    def metadata(self, i: int) -> dict[str, Any]:
        return {"b": int(self.b[i]), "color": COLORS[self.color[i]]}

    def acl(self, i: int) -> list[str]:
        return ["*"] if self.grp[i] == "*" else [f"group:{self.grp[i]}"]


def workload(n: int, nq: int) -> Workload:
    """The data: ``n`` items from a 100-cluster mixture, ``nq`` queries from the same mixture."""
    x = gaussian_mixture(n, DIM, 100, seed=0)
    q = gaussian_mixture(nq, DIM, 100, seed=0)  # same clusters...
    q = q + 0.05 * np.random.default_rng(1).standard_normal(q.shape).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)  # ...but not copies of the items
    rng = np.random.default_rng(2)
    b = rng.integers(0, 1000, n)
    color = rng.integers(0, 10, n)
    g = rng.integers(0, 4, n)
    public = rng.random(n) < 0.1
    grp = ["*" if p else f"g{v}" for p, v in zip(public, g, strict=True)]
    return Workload(x, q.astype(np.float32), b, color, grp)


def where_for(case: str, j: int) -> dict[str, Any] | None:
    """Query ``j``'s metadata filter for a case (None: unfiltered)."""
    sel = case.removesuffix("+acl")
    if sel == "none":
        return None
    if sel == "0.1%":
        return {"b": j * 7 % 1000}
    if sel == "1%":
        v = j * 37 % 990
        return {"b": {"$gte": v, "$lt": v + 10}}
    if sel == "10%":
        return {"color": COLORS[j % 10]}
    return {"color": {"$in": [COLORS[(j + i) % 10] for i in range(5)]}}


def with_acl(case: str) -> bool:
    return case.endswith("+acl")


def mask(w: Workload, case: str, j: int) -> np.ndarray:
    """Which items query ``j`` may match in this case (the ground truth's filter, in numpy)."""
    sel = case.removesuffix("+acl")
    m = np.ones(w.n, dtype=bool)
    if sel == "0.1%":
        m = w.b == j * 7 % 1000
    elif sel == "1%":
        v = j * 37 % 990
        m = (w.b >= v) & (w.b < v + 10)
    elif sel == "10%":
        m = w.color == j % 10
    elif sel == "50%":
        m = np.isin(w.color, [(j + i) % 10 for i in range(5)])
    if with_acl(case):
        m &= np.isin(np.asarray(w.grp), VISIBLE_GROUPS)
    return m


def truth(w: Workload, case: str) -> list[np.ndarray]:
    """Exact top-k row indices under each query's filter (brute force over the matching rows)."""
    out = []
    for j, qv in enumerate(w.q):
        rows = np.flatnonzero(mask(w, case, j))
        scores = w.x[rows] @ qv
        top = np.argsort(-scores, kind="stable")[:K]
        out.append(rows[top])
    return out


def chroma_where(case: str, j: int) -> dict[str, Any] | None:
    """The same filter in Chroma's ``where`` syntax (one operator per clause)."""
    f = where_for(case, j)
    parts: list[dict[str, Any]] = []
    if f is not None:
        ((key, cond),) = f.items()
        if isinstance(cond, dict):
            parts += [{key: {op: v}} for op, v in cond.items()]
        else:
            parts.append({key: cond})
    if with_acl(case):
        parts.append({"grp": {"$in": VISIBLE_GROUPS}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def sql_where(case: str, j: int) -> str:
    """The same filter as a SQL condition (txtai), or '' when unfiltered."""
    f = where_for(case, j)
    parts = []
    if f is not None:
        ((key, cond),) = f.items()
        sym = {"$gte": ">=", "$lt": "<"}
        if isinstance(cond, dict) and "$in" in cond:
            parts.append(f"{key} IN ({', '.join(repr(v) for v in cond['$in'])})")
        elif isinstance(cond, dict):
            parts += [f"{key} {sym[op]} {v!r}" for op, v in cond.items()]
        else:
            parts.append(f"{key} = {cond!r}")
    if with_acl(case):
        parts.append(f"grp IN ({', '.join(repr(g) for g in VISIBLE_GROUPS)})")
    return " AND ".join(parts)


def time_queries(
    w: Workload, cases: list[str], ask: Callable[[str, int], list[str]]
) -> dict[str, Any]:
    """Run ``ask(case, j) -> external ids`` for every case and query: ids and seconds per call."""
    import time

    ids: dict[str, list[list[str]]] = {}
    secs: dict[str, list[float]] = {}
    for case in cases:
        for j in range(min(3, len(w.q))):  # warm-up
            ask(case, j)
        ids[case], secs[case] = [], []
        for j in range(len(w.q)):
            t = time.perf_counter()
            got = ask(case, j)
            secs[case].append(time.perf_counter() - t)
            ids[case].append(got)
    return {"ids": ids, "secs": secs}
