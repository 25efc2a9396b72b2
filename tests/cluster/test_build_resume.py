"""A distributed build killed at random points (SIGKILL of the driver) resumes: run again, it
ends with every item of the corpus exactly once, each with its vector, and nothing duplicated.

Two ways to kill: the documented test hook ``LATENTSEARCH_TEST_KILL_AFTER_BATCHES=N`` (the
driver SIGKILLs itself after N write batches: a point in the middle of the writes, with no
race), and a SIGKILL from here after a random delay (anywhere: connecting, reading, embedding).
"""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

from buildkit import cli, documents_of, drop, items, make_corpus
from raykit import RayCluster

from latentsearch.ingest.distributed import KILL_AFTER_ENV

SEED = random.randrange(1 << 30)


def test_killed_build_resumes_without_loss_or_duplicates(
    ray_cluster: RayCluster, pg_url: str, tmp_path: Path
) -> None:
    try:
        _kill_and_resume(ray_cluster.address, pg_url, tmp_path)
    finally:
        drop(tmp_path / "index", pg_url, ray_cluster.address, "default")


def _kill_and_resume(address: str, pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    corpus = tmp_path / "corpus"
    docs = make_corpus(corpus, records=120)
    args = ["build", str(corpus), "--index", str(tmp_path / "index"), "--database", pg_url]
    args += ["--cluster", address, "--shards", "2", "--replicas", "2"]
    args += ["--workers", "2", "--batch-size", "8", "--index-type", "Flat", "--json"]
    kills = []
    # 120 records and the sample docs in batches of 8: about 17 write batches.
    for n in sorted(rng.sample(range(1, 15), 2)):
        proc = cli(*args, env={KILL_AFTER_ENV: str(n)})
        _, errs = proc.communicate(timeout=300)
        # The first run has every batch ahead of it; a later one may finish before batch n.
        ok = (-signal.SIGKILL,) if not kills else (-signal.SIGKILL, 0)
        assert proc.returncode in ok, f"seed {SEED}: {errs[-3000:]}"
        kills.append(f"after batch {n}" if proc.returncode else f"none (done before batch {n})")
        stored = items(pg_url, "default")  # no id twice, one vector per item (checked there)
        assert documents_of(list(stored)) <= set(docs), f"seed {SEED}"
    delay = rng.uniform(2.0, 20.0)
    proc = cli(*args)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    kills.append(f"after {delay:.1f} s (exit {proc.returncode})")

    proc = cli(*args)
    out, errs = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"seed {SEED}, kills {kills}: {errs[-3000:]}"
    stored = items(pg_url, "default")
    assert documents_of(list(stored)) == set(docs), f"seed {SEED}, kills {kills}"
    assert all(t and t.strip() for t in stored.values())
    for doc in docs:  # a chunked document has all its chunks, numbered from 0
        chunks = sorted(int(i.split("#")[1]) for i in stored if i.startswith(doc + "#"))
        assert chunks == list(range(len(chunks))), (doc, chunks)
    summary = json.loads(out)
    assert summary["failed"] == 0
    # What the killed runs wrote (at least two batches) is not embedded again.
    assert summary["items_encoded"] <= len(stored) - 8, f"seed {SEED}, kills {kills}"
