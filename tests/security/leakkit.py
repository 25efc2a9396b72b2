"""The leak oracle: random worlds of items with ACLs, and "visible-only twins" to compare with.

The rule under test: for every read, what a caller with principals P gets from the world equals
what an unrestricted caller gets from a *twin*, a collection (in another database) that holds only
the items P may see. Results, scores, counts, facets, errors and their messages must match, so a
hidden item can influence nothing a caller observes.

A `World` is a collection plus the records it holds (our own record of the truth, kept in Python).
Examples apply a few generated writes to it and roll them back afterwards, so every example starts
from the same base world and a failing one replays exactly.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

import latentsearch as ls
from latentsearch.errors import LatentSearchError

# -- principals ---------------------------------------------------------------------------------
USERS = ("a", "b", "c", "z")
GROUPS = ("x", "y")
# What an ACL may name: users, groups, everyone, and a principal no caller ever has.
ACL_NAMES = (
    *(f"user:{u}" for u in USERS[:3]),
    *(f"group:{g}" for g in GROUPS),
    "*",
    "user:nobody",
)
WORDS = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa")
TAGS = ("red", "blue", "green")
DIM = 8
N_BASE = 24
PARENTS = 6  # items d0..d11 are chunks of doc0..doc5; the rest are whole items


def principals(user: str, groups: Sequence[str]) -> list[str]:
    """What `latentsearch.server.keystore.principals_for` gives a key of ``user`` in ``groups``."""
    return [f"user:{user}", *(f"group:{g}" for g in sorted(set(groups)))]


def visible(acl: Sequence[str], caller: Sequence[str] | None) -> bool:
    """The ACL rule, written independently of the product: "*" or any shared principal."""
    return caller is None or any(p == "*" or p in caller for p in acl)


callers = st.builds(
    principals, st.sampled_from(USERS), st.lists(st.sampled_from(GROUPS), max_size=2, unique=True)
)
# Callers with arbitrary principal lists too (the Python API takes any list).
any_callers = st.one_of(
    callers, st.lists(st.sampled_from([*ACL_NAMES[:5], "user:z"]), max_size=3, unique=True)
)
acls = st.lists(st.sampled_from(ACL_NAMES), max_size=3, unique=True)


# -- records ------------------------------------------------------------------------------------
def base_records(
    seed: int, n: int = N_BASE, *, text: Callable[[int], str] | None = None
) -> list[dict]:
    """The base world: ``n`` items with random ACLs, vectors, metadata, titles and chunks."""
    r = random.Random(seed)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        rec: dict[str, Any] = {
            "id": f"d{i}",
            "acl": r.sample(ACL_NAMES, r.randint(0, 2)),
            "metadata": {"g": i % 3, "tag": r.choice(TAGS)},
            "source": {"title": " ".join(r.choice(WORDS) for _ in range(r.randint(1, 4)))},
        }
        if text is None:
            rec["vector"] = [round(float(v), 6) for v in rng.normal(size=DIM)]
        else:
            rec["text"] = text(i)
        if i < 2 * PARENTS:
            rec["chunk"] = {"parent": f"doc{i // 2}", "start": 0, "end": 1}
        out.append(rec)
    return out


def seeded_vector(seed: int) -> list[float]:
    """A random vector from a seed (a small choice sequence keeps hypothesis fast)."""
    return [round(float(v), 6) for v in np.random.default_rng(seed).normal(size=DIM)]


seeded_vectors = st.integers(0, 2**20).map(seeded_vector)


def record_strategy(ids: Sequence[str], *, text: Sequence[str] | None = None) -> st.SearchStrategy:
    """A record to upsert: an existing or a new id, a random ACL, vector (or text), metadata."""
    content = seeded_vectors if text is None else st.sampled_from(text)
    return st.builds(
        lambda i, acl, c, g, tag, title: {
            "id": i,
            "acl": acl,
            ("vector" if text is None else "text"): c,
            "metadata": {"g": g, "tag": tag},
            "source": {"title": " ".join(title)},
        },
        st.sampled_from([*ids, "new1", "new2"]),
        acls,
        content,
        st.integers(0, 2),
        st.sampled_from(TAGS),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
    )


def write_strategy(ids: Sequence[str], *, text: Sequence[str] | None = None) -> st.SearchStrategy:
    """0-3 writes: ("upsert", record) or ("delete", id)."""
    one = st.one_of(
        st.tuples(st.just("upsert"), record_strategy(ids, text=text)),
        st.tuples(st.just("delete"), st.sampled_from(ids)),
    )
    # Writes cost a transaction each (and a restore), so about one example in seven writes.
    # (A one_of of equal `just([])`s would not do: hypothesis treats them as one branch.)
    return st.tuples(st.sampled_from(range(7)), st.lists(one, min_size=1, max_size=3)).map(
        lambda t: t[1] if t[0] == 3 else []
    )


# -- the world and its twins ----------------------------------------------------------------
_TWIN_NAMES = itertools.count()


@dataclass
class World:
    """A collection and the truth about it; `twin(P)` gives the visible-only twin for P."""

    col: ls.Collection
    twins_db: ls.Database
    base: dict[str, dict]
    make_twin: Callable[[ls.Database, str], ls.Collection]
    records: dict[str, dict] = field(default_factory=dict)
    _twins: dict[str, ls.Collection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.records = copy.deepcopy(self.base)

    def ids(self) -> list[str]:
        return list(self.base)

    def visible_ids(self, caller: Sequence[str] | None) -> set[str]:
        return {i for i, r in self.records.items() if visible(r["acl"], caller)}

    def twin(self, caller: Sequence[str] | None) -> ls.Collection:
        """A collection of exactly the items ``caller`` sees now (cached by their content)."""
        recs = [self.records[i] for i in sorted(self.visible_ids(caller))]
        key = hashlib.sha256(json.dumps(recs, sort_keys=True).encode()).hexdigest()[:16]
        if key not in self._twins:
            name = f"twin{next(_TWIN_NAMES):05d}"  # one twin database serves several worlds
            tw = self.make_twin(self.twins_db, name)
            if recs:
                tw.add([{**r, "acl": ["*"]} for r in recs])
            self._twins[key] = tw
        return self._twins[key]

    @contextmanager
    def writes(self, ops: Sequence[tuple[str, Any]]) -> Iterator[None]:
        """Apply ``ops`` (unrestricted, as the owner would), then restore the base world."""
        touched: set[str] = set()
        try:
            for op, arg in ops:
                if op == "upsert":
                    touched.add(arg["id"])
                    self.col.upsert([arg])
                    self.records[arg["id"]] = copy.deepcopy(arg)
                else:
                    touched.add(arg)
                    self.col.delete([arg])
                    self.records.pop(arg, None)
            yield
        finally:
            self.restore(touched)

    def restore(self, touched: set[str]) -> None:
        gone = [i for i in touched if i not in self.base]
        if gone:
            self.col.delete(gone)
        back = [self.base[i] for i in sorted(touched) if i in self.base]
        if back:
            self.col.upsert(back)
        self.records = copy.deepcopy(self.base)


def vector_twin(db: ls.Database, name: str) -> ls.Collection:
    return db.create_collection(name, dim=DIM, index="Flat")


# -- outcomes and comparison ------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What a call returned, or the typed error it raised (class name and message)."""

    value: Any = None
    error: tuple[str, str] | None = None


def outcome(fn: Callable[[], Any], names: Mapping[str, str] | None = None) -> Outcome:
    """Run ``fn``; a typed error becomes part of the outcome (with collection names replaced)."""
    try:
        return Outcome(value=fn())
    except LatentSearchError as exc:
        msg = str(exc)
        for old, new in (names or {}).items():
            msg = msg.replace(old, new)
        return Outcome(error=(type(exc).__name__, msg))


TOL = 1e-4


def hit_key(h: Any) -> tuple:
    """Everything a caller sees in a hit except its score (compared with a tolerance)."""
    return (
        h.id,
        h.kind,
        h.text,
        json.dumps(h.metadata, sort_keys=True),
        (h.source.uri, h.source.title),
        (h.chunk.parent, h.chunk.start, h.chunk.end) if h.chunk else None,
    )


def assert_same_hits(got: Sequence[Any], want: Sequence[Any], what: str, tol: float = TOL) -> None:
    """Same hits in the same order; hits whose scores tie (within ``tol``) may swap places."""
    g_scores = [h.score for h in got]
    w_scores = [h.score for h in want]
    assert len(got) == len(want), (
        f"{what}: {len(got)} hits, twin gives {len(want)}\n{_show(got, want)}"
    )
    for i, (a, b) in enumerate(zip(g_scores, w_scores, strict=True)):
        assert abs(a - b) <= tol * max(1.0, abs(b)), (
            f"{what}: score {i} differs\n{_show(got, want)}"
        )
    # Group positions with tied scores; within a group the order is free. The last group may
    # have been cut at k among more tied hits than it shows (tie order follows insertion order,
    # which differs between world and twin), so its ids are left to the separate check that
    # every returned id is visible to the caller.
    i = 0
    while i < len(want):
        j = i + 1
        while j < len(want) and abs(w_scores[j] - w_scores[i]) <= tol * max(1.0, abs(w_scores[i])):
            j += 1
        g = sorted(map(hit_key, got[i:j]))
        w = sorted(map(hit_key, want[i:j]))
        if j < len(want):
            assert g == w, f"{what}: hits {i}..{j - 1} differ\n{_show(got, want)}"
        i = j


def _show(got: Sequence[Any], want: Sequence[Any]) -> str:
    return (
        "got:  "
        + repr([(h.id, round(h.score, 6)) for h in got])
        + "\ntwin: "
        + repr([(h.id, round(h.score, 6)) for h in want])
    )


def assert_same_outcome(
    got: Outcome, want: Outcome, what: str, compare: Callable[..., None]
) -> None:
    """Errors must match exactly (class and message); values are compared by ``compare``."""
    assert got.error == want.error, f"{what}: world gives {got.error}, twin gives {want.error}"
    if got.error is None:
        compare(got.value, want.value, what)


def assert_close(got: Any, want: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5, err_msg=what)


def item_key(it: Any) -> tuple:
    """What `get` returns, less the ACL (a twin's items are public) and timestamps."""
    return (
        it.id,
        it.kind,
        it.text,
        json.dumps(it.metadata, sort_keys=True),
        (it.source.uri, it.source.title),
        (it.chunk.parent, it.chunk.start, it.chunk.end) if it.chunk else None,
    )
