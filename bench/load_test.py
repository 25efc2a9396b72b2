"""Load test: N concurrent clients against `latentsearch serve` on PostgreSQL with several workers.

    python bench/load_test.py [--clients 16] [--duration 60] [--workers 4] [--database URL]
    python bench/load_test.py --short          # CI-sized: 4 clients, 2 workers, 8 s

Each client loops until the deadline over a mix of reads (dense, keyword and hybrid search,
item get) and writes (upsert of a new document, delete of one it wrote). Afterwards every
acknowledged write is checked: an upserted document must be readable and found by keyword
search, a deleted one must be gone. Prints one table (throughput, p50/p99 per operation) and
exits non-zero on any error or any acknowledged write missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

import latentsearch as ls
from latentsearch.server import keystore
from latentsearch.testing.server_process import running_server

PG = os.environ.get("LATENTSEARCH_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
TOPICS = [
    "vpn outage",
    "database failover",
    "payroll export",
    "laptop setup",
    "expense policy",
    "deploy pipeline",
    "incident review",
    "customer renewal",
    "holiday calendar",
    "security training",
]
SEARCH_MODES = ("dense", "keyword", "hybrid")


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    written: dict[str, str] = field(
        default_factory=dict
    )  # id -> unique token, acknowledged upserts
    deleted: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def seed(index: Path, database: str, docs: int) -> tuple[str, str]:
    rng = random.Random(0)
    with ls.connect(index, database=database, device="cpu") as db:
        col = db.create_collection("docs", encoder="text", require_principals=True)
        col.add(
            [
                {
                    "id": f"seed-{i}",
                    "text": f"{rng.choice(TOPICS)} notes number {i}: {rng.choice(TOPICS)} and {rng.choice(TOPICS)}.",
                    "acl": [rng.choice(["group:eng", "*"])],
                    "metadata": {"n": i},
                }
                for i in range(docs)
            ]
        )
        with db.store.transaction() as s:
            reader = keystore.create_key(s, "reader", ["eng"], "reader").key
            writer = keystore.create_key(s, "writer", ["eng"], "writer").key
    return reader, writer


def client(
    url: str,
    reader: str,
    writer: str,
    deadline: float,
    write_ratio: float,
    seed_docs: int,
    stats: Stats,
    n: int,
) -> None:
    rng = random.Random(n)
    mine: list[str] = []
    rh, wh = {"Authorization": f"Bearer {reader}"}, {"Authorization": f"Bearer {writer}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() < deadline:
            r = rng.random()
            try:
                if r < write_ratio * 0.7:
                    op, doc = "upsert", f"load-{n}-{uuid.uuid4().hex[:10]}"
                    token = f"tok{uuid.uuid4().hex[:12]}"
                    body = {
                        "records": [
                            {
                                "id": doc,
                                "text": f"{rng.choice(TOPICS)} update {token}",
                                "acl": ["group:eng"],
                            }
                        ]
                    }
                    t = time.perf_counter()
                    resp = http.put("/collections/docs/items", json=body, headers=wh)
                    if resp.status_code == 200:
                        with stats.lock:
                            stats.written[doc] = token
                        mine.append(doc)
                elif r < write_ratio and mine:
                    op, doc = "delete", mine.pop(rng.randrange(len(mine)))
                    t = time.perf_counter()
                    resp = http.request(
                        "DELETE", "/collections/docs/items", json={"ids": [doc]}, headers=wh
                    )
                    if resp.status_code == 200:
                        with stats.lock:
                            stats.deleted.add(doc)
                elif r < 0.85:
                    mode = rng.choice(SEARCH_MODES)
                    op = f"search:{mode}"
                    t = time.perf_counter()
                    resp = http.post(
                        "/collections/docs/search",
                        json={"text": rng.choice(TOPICS), "k": 10, "mode": mode},
                        headers=rh,
                    )
                else:
                    op = "get"
                    t = time.perf_counter()
                    resp = http.get(
                        f"/collections/docs/items/seed-{rng.randrange(seed_docs)}", headers=rh
                    )
                    if resp.status_code == 404:  # ACL-hidden seed docs are expected 404s
                        resp = httpx.Response(200)
                elapsed = time.perf_counter() - t
                with stats.lock:
                    if resp.status_code >= 300:
                        stats.errors.append(f"{op}: {resp.status_code} {resp.text[:200]}")
                    stats.latencies[op].append(elapsed)
            except httpx.HTTPError as exc:
                with stats.lock:
                    stats.errors.append(f"{type(exc).__name__}: {exc}")


def verify(url: str, reader: str, stats: Stats) -> list[str]:
    """Every acknowledged write must be visible (get + keyword search); every delete gone."""
    missing = []
    h = {"Authorization": f"Bearer {reader}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        for doc, token in stats.written.items():
            got = http.get(f"/collections/docs/items/{doc}", headers=h).status_code
            found = {
                x["id"]
                for x in http.post(
                    "/collections/docs/search", json={"text": token, "mode": "keyword"}, headers=h
                ).json()["hits"]
            }
            if doc in stats.deleted:
                if got != 404 or doc in found:
                    missing.append(f"{doc} was deleted but is still there")
            elif got != 200 or doc not in found:
                missing.append(f"{doc} was acknowledged but get={got}, in search={doc in found}")
    return missing


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--write-ratio", type=float, default=0.2)
    ap.add_argument("--docs", type=int, default=300, help="documents seeded before the run")
    ap.add_argument(
        "--database",
        default=PG,
        help="PostgreSQL URL; the test runs in a fresh schema, dropped after",
    )
    ap.add_argument(
        "--short", action="store_true", help="CI-sized run: 4 clients, 2 workers, 8 s, 100 docs"
    )
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = ap.parse_args()
    if args.short:
        args.clients, args.workers, args.duration, args.docs = 4, 2, 8.0, 100
    schema = f"load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.database else "?"
    url_db = f"{args.database}{sep}options=-csearch_path%3D{schema}"
    stats = Stats()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            index = Path(tmp) / "index"
            reader, writer = seed(index, url_db, args.docs)
            with running_server(index, url_db, workers=args.workers) as url:
                deadline = time.monotonic() + args.duration
                started = time.monotonic()
                threads = [
                    threading.Thread(
                        target=client,
                        args=(url, reader, writer, deadline, args.write_ratio, args.docs, stats, n),
                    )
                    for n in range(args.clients)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.monotonic() - started
                missing = verify(url, reader, stats)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    every = [x for xs in stats.latencies.values() for x in xs]
    print(
        f"load test: {args.clients} clients, {args.workers} workers, {wall:.1f} s, PostgreSQL, "
        f"{args.docs} seed docs; {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("| operation | requests | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for op in sorted(stats.latencies):
        xs = stats.latencies[op]
        print(
            f"| {op} | {len(xs)} | {len(xs) / wall:.1f} | {statistics.median(xs) * 1000:.1f} | {pct(xs, 99):.1f} |"
        )
    print(
        f"| all | {len(every)} | {len(every) / wall:.1f} | {statistics.median(every) * 1000:.1f} | {pct(every, 99):.1f} |"
    )
    print(
        f"errors: {len(stats.errors)}; acknowledged writes: {len(stats.written)} "
        f"({len(stats.deleted)} deleted); missing or stale: {len(missing)}"
    )
    for line in (stats.errors + missing)[:20]:
        print("  ", line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "clients": args.clients,
                    "workers": args.workers,
                    "seconds": wall,
                    "requests": len(every),
                    "throughput": len(every) / wall,
                    "p50_ms": statistics.median(every) * 1000,
                    "p99_ms": pct(every, 99),
                    "errors": len(stats.errors),
                    "writes": len(stats.written),
                    "missing": len(missing),
                }
            )
        )
    return 1 if stats.errors or missing or not every else 0


if __name__ == "__main__":
    sys.exit(main())
