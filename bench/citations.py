"""Defect 12's measurement: a search over fifteen 1 MB texts, its citations and its HTTP answer.

    python -m bench.citations [INDEX_DIR]   # builds the index on first use (about a minute)

Prints the search time, the time to cite and convert the 15 hits as the server does, and the
size of the JSON answer. Measured on the 2-core development machine (issue 11):
before the fix 15.09 s and 15.01 MB, after it 0.08 s and 0.04 MB. tests/query/test_costly_requests.py
asserts the behaviour behind these numbers (bounded work per hit, a small answer), not timings.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import latentsearch as ls
from latentsearch.server import convert
from latentsearch.server.responses import SearchResponse

WORDS = [
    "network",
    "outage",
    "gateway",
    "router",
    "firewall",
    "kernel",
    "restart",
    "rotate",
    "keys",
    "laptop",
    "printer",
    "invoice",
    "holiday",
    "budget",
    "server",
    "replica",
    "failover",
]


def build(path: Path) -> None:
    rng = random.Random(0)
    with ls.connect(path, device="cpu") as db:
        col = db.create_collection("big", encoder="text")
        recs = []
        for i in range(15):
            body = " ".join(rng.choice(WORDS) for _ in range(150_000))[:1_000_000]
            recs.append({"id": f"d{i}", "text": f"VPN outage report {i}. " + body})
        col.add(recs)


def main(path: Path) -> None:
    if not path.exists():
        build(path)
    with ls.connect(path, device="cpu") as db:
        col = db.collection("big")
        col.search("vpn outage", k=15)  # warm the encoder
        t0 = time.perf_counter()
        hits = col.search("vpn outage", k=15)
        t1 = time.perf_counter()
        out = convert.hits_out(hits, "vpn outage", db.path)
        answer = SearchResponse.model_validate({"hits": out, "mode": "dense", "took_ms": 0.0})
        body = answer.model_dump_json()
        t2 = time.perf_counter()
    print(
        f"hits={len(hits)} search={t1 - t0:.2f}s citations+conversion={t2 - t1:.2f}s "
        f"answer={len(body) / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "index")
