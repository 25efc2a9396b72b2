"""nDCG@10 of dense, keyword and hybrid retrieval on the Cranfield collection.

    python bench/cranfield_modes.py [--data bench/data/cranfield] [--database URL] [--rrf-k 60]

Indexes the 1,400 abstracts (text = the .W field, which begins with the title; source title =
.T) with the default text model, runs the 225 queries in each mode and prints one table with
the README's reference figures beside ours. Gains: 5 - grade for grades 1-4, else 0.
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import tempfile
import time
from pathlib import Path

import latentsearch as ls
from latentsearch.query import hybrid

REFERENCE = {"dense": 0.382, "hybrid": 0.411}


def read_smart(path: Path) -> list[dict[str, str]]:
    """Records of a SMART file: one dict per `.I`, keyed by field letter (T, A, B, W)."""
    out: list[dict[str, str]] = []
    field = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^\.([IATBW])\b\s*(.*)$", line)
        if m and m.group(1) == "I":
            out.append({"I": m.group(2).strip()})
            field = None
        elif m:
            field = m.group(1)
            out[-1].setdefault(field, "")
        elif field and out:
            out[-1][field] += line.strip() + " "
    return [{k: v.strip() for k, v in r.items()} for r in out]


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    """Query number (1..225, in file order) -> document -> gain (5 - grade for grades 1-4)."""
    qrels: dict[str, dict[str, float]] = {}
    for line in path.read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 3:
            q, d, grade = parts[0], parts[1], int(parts[2])
            if 1 <= grade <= 4:
                qrels.setdefault(q, {})[d] = float(5 - grade)
    return qrels


def ndcg(ranked: list[str], gains: dict[str, float], k: int = 10) -> float:
    dcg = sum(gains.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parent / "data/cranfield")
    ap.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: SQLite in a temporary folder)"
    )
    ap.add_argument("--rrf-k", type=int, default=60)
    ap.add_argument("--depth", type=int, default=None, help="candidates per ranker in hybrid mode")
    args = ap.parse_args()
    docs = read_smart(args.data / "cran.all.1400")
    queries = read_smart(args.data / "cran.qry")
    qrels = read_qrels(args.data / "cranqrel")
    with (
        tempfile.TemporaryDirectory() as tmp,
        ls.connect(Path(tmp) / "idx", database=args.database, device="cpu") as db,
    ):
        col = db.create_collection("cranfield", encoder="text", index="Flat")
        t0 = time.perf_counter()
        col.add(
            [
                {
                    "id": d["I"],
                    "text": d.get("W") or d.get("T") or "(empty)",
                    "title": d.get("T") or None,
                }
                for d in docs
            ]
        )
        took = time.perf_counter() - t0
        fusion = hybrid.Fusion(rrf_k=args.rrf_k, depth=args.depth)
        rows = []
        for mode in ("dense", "keyword", "hybrid"):
            t1 = time.perf_counter()
            scores = []
            for i, q in enumerate(queries, start=1):
                hits = col.search(q["W"], 10, mode=mode, fusion=fusion)
                scores.append(ndcg([h.id for h in hits], qrels.get(str(i), {})))
            rows.append(
                (mode, sum(scores) / len(scores), (time.perf_counter() - t1) / len(queries) * 1000)
            )
    print(
        f"Cranfield: {len(docs)} docs, {len(queries)} queries; {db.store.dialect}; indexed in {took:.0f} s; "
        f"{platform.processor() or platform.machine()}, rrf_k={args.rrf_k}"
    )
    print("| mode | nDCG@10 | reference | ratio | ms/query |\n|---|---|---|---|---|")
    for mode, score, ms in rows:
        ref = REFERENCE.get(mode)
        ratio = f"{score / ref:.2f}" if ref else "-"
        print(f"| {mode} | {score:.3f} | {ref or '-'} | {ratio} | {ms:.1f} |")


if __name__ == "__main__":
    main()
