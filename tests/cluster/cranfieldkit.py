"""Cranfield as vectors, for the cluster tests: embedded once, added to several collections.

The equivalence and recall tests compare a sharded collection with a single-process one built
from the same data. What they test is the index and the merge, not the encoder, so the 1,398
documents and 225 queries are embedded once per run (the bundled MiniLM through ONNX int8, the
fastest backend here: tens of seconds on 2 busy cores, minutes through torch) and the same
vectors go into every collection. The vectors are also cached on disk by content hash
(``LATENTSEARCH_TEST_CACHE``, default ``$TMPDIR/latentsearch-test-cache``) for reruns.

Each document gets metadata and an ACL from its number, so filters and principals select
known, deterministic subsets.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import latentsearch as ls
from latentsearch.encoders import get_encoder
from latentsearch.errors import CollectionNotFoundError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data" / "cranfield"  # vendored: every checkout has it
DIM = 384
WORDS = 64  # the start of each document: MiniLM reads 256 word pieces at most anyway
BACKEND = "onnx-int8"


@dataclass(frozen=True)
class Cranfield:
    records: list[dict[str, Any]]  # id, vector, metadata, acl (the vector as float32 rows)
    vectors: np.ndarray  # (n, 384), in records' order
    queries: np.ndarray  # (225, 384)


def _bench_cranfield() -> Any:
    spec = importlib.util.spec_from_file_location("cranfield", ROOT / "bench" / "cranfield.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def acl_of(n: int) -> list[str]:
    """A third of the documents for group a, a third for group b, a third public."""
    return [["group:a"], ["group:b"], ["*"]][n % 3]


@functools.cache
def cranfield() -> Cranfield:
    cran = _bench_cranfield()
    docs = [d for d in cran.documents(DATA) if d["text"].strip()]  # two are empty
    texts = [" ".join(d["text"].split()[:WORDS]) for d in docs]
    queries = [q["text"] for q in cran.queries(DATA)]
    vectors, qvecs = _embed(texts, queries)
    records = [
        {
            "id": f"cran{d['id']}",
            "vector": vectors[i],
            "metadata": {"parity": int(d["id"]) % 2, "band": int(d["id"]) % 5},
            "acl": acl_of(int(d["id"])),
        }
        for i, d in enumerate(docs)
    ]
    return Cranfield(records, vectors, qvecs)


def _embed(texts: Sequence[str], queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    key = hashlib.sha256("\x00".join([BACKEND, *texts, "\x01", *queries]).encode()).hexdigest()
    folder = Path(
        os.environ.get("LATENTSEARCH_TEST_CACHE")
        or Path(tempfile.gettempdir()) / "latentsearch-test-cache"
    )
    path = folder / f"cranfield-{key[:16]}.npz"
    with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as cached:
        return cached["docs"], cached["queries"]
    enc = get_encoder("text", device="cpu", backend=BACKEND)
    docs = enc.encode_texts(list(texts)).astype(np.float32)
    qs = enc.encode_texts(list(queries)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{os.getpid()}.npz"
    np.savez(tmp, docs=docs, queries=qs)
    os.replace(tmp, path)  # atomic: concurrent runs never read half a file
    return docs, qs


def add_all(col: ls.Collection, records: Sequence[dict[str, Any]], batch: int = 500) -> None:
    for s in range(0, len(records), batch):
        col.add(list(records[s : s + batch]))


@contextlib.contextmanager
def dropping(db: ls.Database, *names: str) -> Iterator[None]:
    """Drop the collections afterwards: their shard actors are detached and would otherwise
    keep their share of the two test nodes' CPUs for the rest of the session."""
    try:
        yield
    finally:
        for name in names:
            with contextlib.suppress(CollectionNotFoundError):
                db.drop_collection(name)
        kill_shard_actors()


def kill_shard_actors() -> None:
    """Kill every shard actor left on the test cluster (one test module runs at a time)."""
    import ray

    if not ray.is_initialized():
        return
    for actor in ray.util.list_named_actors(all_namespaces=True):
        if actor["namespace"] == "latentsearch":
            with contextlib.suppress(ValueError):
                ray.kill(ray.get_actor(actor["name"], namespace="latentsearch"), no_restart=True)


def same_hits(got: Sequence[Any], want: Sequence[Any], what: str, tol: float = 1e-5) -> list[str]:
    """Same ids in the same order and scores within ``tol``; only hits whose scores tie (within
    float noise, 1e-6) may swap places. Returns the swaps, described (expected: very few)."""
    assert len(got) == len(want), f"{what}: {len(got)} hits, single process {len(want)}"
    gs = np.array([h.score for h in got])
    ws = np.array([h.score for h in want])
    np.testing.assert_allclose(gs, ws, atol=tol, rtol=0, err_msg=what)
    g_ids, w_ids = [h.id for h in got], [h.id for h in want]
    if g_ids == w_ids:
        return []
    i, swaps = 0, []
    while i < len(w_ids):
        j = i + 1
        while j < len(w_ids) and abs(ws[j] - ws[i]) <= 1e-6:
            j += 1
        if j < len(w_ids):  # a tie cut at k may legitimately show different members
            assert sorted(g_ids[i:j]) == sorted(w_ids[i:j]), f"{what}: {g_ids} != {w_ids}"
        if g_ids[i:j] != w_ids[i:j]:
            swaps.append(
                f"{what}: {g_ids[i:j]} {gs[i:j].tolist()} vs {w_ids[i:j]} {ws[i:j].tolist()}"
            )
        i = j
    return swaps
