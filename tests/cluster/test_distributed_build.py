"""The distributed build (`latentsearch build --cluster`) on a real two-node Ray cluster.

It must store the same items as a single-process build of the same corpus and, with an exact
index, answer searches the same (ids, and scores to 1e-5); run again, it embeds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from buildkit import TOPICS, cli, drop, items, make_corpus
from raykit import RayCluster

import latentsearch as ls
from latentsearch.ingest.build import build
from latentsearch.ingest.options import BuildOptions

QUERIES = [issue for _, issue in TOPICS] + ["vpn outage", "battery", "how do I reset my password"]


@pytest.fixture
def driver() -> Iterator[None]:
    """The test process joins the cluster to read the collection; it leaves it afterwards."""
    yield
    ray.shutdown()


def test_same_items_and_answers_as_single_process(
    ray_cluster: RayCluster, pg_url: str, tmp_path: Path, driver: None
) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    index = tmp_path / "index"
    with ls.connect(index, database=pg_url) as db:
        single = db.create_collection("single", encoder="text", index="Flat")
        build(db, single, BuildOptions(sources=[str(corpus)], batch_size=32))

    args = ["build", str(corpus), "--index", str(index), "--database", pg_url]
    args += ["--collection", "dist", "--index-type", "Flat", "--cluster", ray_cluster.address]
    args += ["--shards", "2", "--replicas", "2", "--workers", "2", "--batch-size", "16", "--json"]
    try:
        _same_as_single(args, index, pg_url, ray_cluster.address)
    finally:
        drop(index, pg_url, ray_cluster.address, "dist")


def _same_as_single(args: list[str], index: Path, pg_url: str, address: str) -> None:
    proc = cli(*args)
    out, errs = proc.communicate(timeout=300)
    assert proc.returncode == 0, errs[-3000:]
    assert '"items_written"' in out

    assert items(pg_url, "dist") == items(pg_url, "single")
    with ls.connect(index, database=pg_url, cluster=address) as db:
        dist = db.collection("dist")
        assert dist.options["shards"] == 2 and dist.options["replicas"] == 2
        with ls.connect(index, database=pg_url) as db1:
            single = db1.collection("single")
            for where in (None, {"team": "vpn"}):
                for q in QUERIES:
                    want = single.search(q, k=10, where=where)
                    got = dist.search(q, k=10, where=where)
                    assert [h.id for h in got] == [h.id for h in want], q
                    for g, w in zip(got, want, strict=True):
                        assert abs(g.score - w.score) < 1e-5, (q, g.id)

    # Run again: every file is unchanged, nothing is embedded or written.
    proc = cli(*args)
    out, errs = proc.communicate(timeout=300)
    assert proc.returncode == 0, errs[-3000:]
    assert '"items_encoded": 0' in out
