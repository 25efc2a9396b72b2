"""index="auto": the decision table, recall-targeted tuning, re-choosing on growth in the
background, and memory-mapped indexes. Real FAISS and real stores throughout."""

from __future__ import annotations

import json
import threading

import faiss
import numpy as np
import pytest

import latentsearch as ls
from latentsearch.core.keeper import IndexKeeper
from latentsearch.errors import InvalidInputError
from latentsearch.index.auto import EXACT_LIMIT, choose, nlist_for, parse_bytes
from latentsearch.index.tuning import recall_at_k

DIM = 32


def mixture(n: int, seed: int, centers: np.ndarray | None = None) -> np.ndarray:
    """Clustered unit vectors (a Gaussian mixture), so recall is a real question."""
    rng = np.random.default_rng(seed)
    if centers is None:
        centers = np.random.default_rng(99).normal(size=(64, DIM))
    x = centers[rng.integers(len(centers), size=n)] + 0.35 * rng.normal(size=(n, DIM))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def add(col: ls.Collection, x: np.ndarray, start: int = 0) -> None:
    for s in range(0, len(x), 10_000):
        part = x[s : s + 10_000]
        col.add(vectors=part, ids=[f"v{start + s + i}" for i in range(len(part))])


def held_out_recall(col: ls.Collection, x: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    _, truth = faiss.knn(queries, x, k, metric=faiss.METRIC_INNER_PRODUCT)
    found = np.full((len(queries), k), -1)
    for r, hits in enumerate(col.search_batch(queries, k=k)):
        found[r, : len(hits)] = [int(h.id[1:]) for h in hits]
    return recall_at_k(found, truth)


# -- the decision table -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "kwargs", "spec"),
    [
        (1_000, {}, "Flat"),
        (EXACT_LIMIT - 1, {}, "Flat"),
        (EXACT_LIMIT - 1, {"storage": "sq8"}, "SQ8"),
        (100_000, {}, f"IVF{nlist_for(100_000)},Flat"),
        (1_000_000, {}, "IVF4096,Flat" if nlist_for(1_000_000) == 4096 else "IVF2048,Flat"),
        (100_000, {"recall_target": 1.0}, "Flat"),
        (500_000, {"gpu": True}, "Flat"),
        (5_000_000, {"gpu": True}, "IVF8192,Flat"),
        (1_000_000, {"storage": "float16"}, f"IVF{nlist_for(1_000_000)},SQfp16"),
        (10_000_000, {"memory_budget": 8 << 30}, "IVF8192_HNSW32,SQ8"),
        (10_000_000, {"memory_budget": 10 << 30}, "IVF8192_HNSW32,SQfp16"),
        (10_000_000, {"memory_budget": 1 << 30}, "IVF8192_HNSW32,RaBitQ"),
        (10_000_000, {"memory_budget": 200 << 20}, "IVF8192_HNSW32,PQ16np"),
    ],
)
def test_decision_table(n: int, kwargs: dict, spec: str) -> None:
    choice = choose(n, 384, **kwargs)
    assert choice.spec == spec
    budget = kwargs.get("memory_budget")
    if budget:
        assert choice.estimated_bytes(n) <= budget
    assert choice.reason


def test_nlist_is_a_trainable_power_of_two() -> None:
    for n in (EXACT_LIMIT, 50_000, 300_000, 10_000_000):
        nl = nlist_for(n)
        assert nl & (nl - 1) == 0 and 39 * nl <= n and nl <= 4 * n**0.5


def test_budget_too_small_and_bad_arguments() -> None:
    with pytest.raises(InvalidInputError, match="raise memory_budget"):
        choose(10_000_000, 384, memory_budget=1 << 20)
    with pytest.raises(InvalidInputError, match="storage"):
        choose(10, 384, storage="int4")
    assert parse_bytes("2GiB") == 2 << 30 and parse_bytes("512 mb") == 512 << 20
    with pytest.raises(InvalidInputError, match="memory budget"):
        parse_bytes("lots")


def test_create_collection_checks_index_arguments(tmp_path) -> None:
    with ls.connect(tmp_path) as db:
        with pytest.raises(InvalidInputError, match="recall_target"):
            db.create_collection("a", dim=4, recall_target=1.5)
        with pytest.raises(InvalidInputError, match="factory string"):
            db.create_collection("a", dim=4, index="Flat", storage="sq8")
        with pytest.raises(InvalidInputError, match="memory budget"):
            db.create_collection("a", dim=4, memory_budget="plenty")
        assert db.collections() == []  # nothing was written by the failed calls


# -- tuning -----------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [0.9, 0.97])
def test_tuning_meets_its_target_on_held_out_queries(tmp_path, target: float) -> None:
    x = mixture(30_000, seed=1)
    queries = mixture(400, seed=2)  # same distribution, never stored
    with ls.connect(tmp_path) as db:
        col = db.create_collection("v", dim=DIM, recall_target=target)
        add(col, x)
        col.flush()
        info = col.index_info()
        assert info.spec.startswith("IVF") and info.approximate
        assert info.params["nprobe"] > 1 and info.recall is not None and info.recall >= target
        assert EXACT_LIMIT <= info.tuned_on <= len(x)  # tuned when it became IVF, in the background
        assert held_out_recall(col, x, queries) >= target
        # the narrowest setting: one step narrower misses the target on the tuning sample
        tried = col.options["tuning"]["tried"]
        below = [v for v in map(int, tried) if v < info.params["nprobe"]]
        assert all(tried[str(v)] < target + 0.01 for v in below)


def test_explicit_ivf_is_tuned_and_params_survive_reopening(tmp_path) -> None:
    x = mixture(12_000, seed=3)
    with ls.connect(tmp_path) as db:
        col = db.create_collection("v", dim=DIM, index="IVF128,Flat", recall_target=0.95)
        add(col, x)
        col.flush()
        params = col.index_info().params
        assert params["nprobe"] > 1
    with ls.connect(tmp_path) as db:
        col = db.collection("v")
        assert col.index_info().params == params
        assert held_out_recall(col, x, mixture(300, seed=4)) >= 0.95
        result = col.tune(recall_target=0.99)  # a stricter target widens the search
        assert result.value is not None and result.value >= params["nprobe"]
        assert col.index_info().recall_target == 0.99


def test_exact_index_has_nothing_to_tune(tmp_path) -> None:
    with ls.connect(tmp_path) as db:
        col = db.create_collection("v", dim=DIM)
        add(col, mixture(2_000, seed=5))
        col.flush()
        info = col.index_info()
        assert (info.spec, info.params, info.recall, info.approximate) == ("Flat", {}, 1.0, False)


# -- growth -----------------------------------------------------------------------------------
def test_growth_rechooses_in_the_background_without_blocking_readers(
    db: ls.Database, monkeypatch
) -> None:
    x = mixture(EXACT_LIMIT + 6_000, seed=6)
    col = db.create_collection("grow", dim=DIM)
    add(col, x[:15_000])
    assert col.index_info().spec == "Flat"
    # Hold the background build at its end until the test has searched meanwhile.
    building, release = threading.Event(), threading.Event()
    real = IndexKeeper._build

    def slow_build(self, s, cancel=None):
        out = real(self, s, cancel)
        if cancel is not None:  # only the background build passes a cancel event
            building.set()
            assert release.wait(60)
        return out

    monkeypatch.setattr(IndexKeeper, "_build", slow_build)
    add(col, x[15_000:], start=15_000)  # crosses EXACT_LIMIT: a rebuild is due
    assert building.wait(60), "no background rebuild started"
    assert col.index_info().rebuilding
    q = x[:5]
    hits = col.search_batch(q, k=1)  # readers carry on with the current (exact) index
    assert [h[0].id for h in hits] == [f"v{i}" for i in range(5)]
    col.add(vectors=mixture(10, seed=7), ids=[f"late{i}" for i in range(10)])  # writers too
    release.set()
    col.flush()
    info = col.index_info()
    assert info.spec.startswith("IVF") and not info.rebuilding and info.params["nprobe"] >= 1
    assert col.verify()  # the write made during the rebuild was replayed into the new index
    assert len(col) == len(x) + 10


# -- memory mapping ---------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["IVF64,Flat", "Flat"])
def test_memory_mapped_index_reads_then_loads_for_writes(tmp_path, spec: str) -> None:
    x = mixture(5_000, seed=8)
    with ls.connect(tmp_path) as db:
        col = db.create_collection("m", dim=DIM, index=spec, mmap=True)
        add(col, x)
        col.flush()
    with ls.connect(tmp_path) as db:
        col = db.collection("m")
        assert col.index_info().mapped
        assert col.search(x[7], k=1)[0].id == "v7"
        col.add(vectors=x[:3] * -1, ids=["n0", "n1", "n2"])  # the first write loads it
        assert not col.index_info().mapped
        col.delete(["v7"])
        assert col.search(x[7], k=1)[0].id != "v7"
        assert col.verify()
    with ls.connect(tmp_path) as db:  # what was saved after the write is complete and readable
        col = db.collection("m")
        assert col.index_info().mapped and col.verify() and len(col) == len(x) + 2


# -- the CLI ----------------------------------------------------------------------------------
def test_cli_build_tunes_and_info_reports_it(tmp_path) -> None:
    from corpus import run, run_json

    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    records = tmp_path / "r.jsonl"
    records.write_text(
        "\n".join(
            json.dumps({"id": f"r{i}", "text": f"{words[i % 8]} {words[i // 8 % 8]} item {i}"})
            for i in range(240)
        )
    )
    idx = tmp_path / "idx"
    run_json(
        "build", records, "--index", idx, "--index-type", "IVF4,Flat", "--recall-target", "0.9"
    )
    info = run_json("info", "--index", idx)["collections"][0]
    assert info["index"] == "IVF4,Flat"
    t = info["index_tuning"]
    assert t["param"] == "nprobe" and 1 <= t["value"] <= 4 and t["recall"] >= 0.9
    bad = run("build", records, "--index", tmp_path / "idx2", "--storage", "int4")
    assert bad.exit_code != 0 and "storage must be one of" in bad.output


def test_a_factory_string_index_is_not_retrained_on_growth(tmp_path) -> None:
    """A build trains on the first vectors FAISS asks for, so retraining the same spec after
    growth would read the whole store to learn from the same sample: growth alone rebuilds
    nothing (index="auto" rebuilds when its choice changes)."""
    x = mixture(6_000, seed=9)
    with ls.connect(tmp_path) as db:
        col = db.create_collection("g", dim=DIM, index="IVF32,Flat")
        col.add(vectors=x[:1_300], ids=[f"v{i}" for i in range(1_300)])  # trains on 1,300
        col.flush()
        trained = col.index
        col.add(vectors=x[1_300:], ids=[f"v{i}" for i in range(1_300, 6_000)])
        col.flush()  # 4.6x growth
        assert col.index is trained and col.verify() and len(col) == 6_000
