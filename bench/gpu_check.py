"""GPU readiness check: the GPU paths against the CPU on one NVIDIA machine, in under 5 minutes.

    bench/gpu_check.sh            # or: PYTHONPATH=. python -m bench.gpu_check [--n 1000000]

No GPU has been lent to this project's development so far, so this is how the GPU paths get
checked on hardware when one is. It prints one table:

* every ``gpu``-marked test (run by gpu_check.sh before this script; its summary is passed in);
* equality: the same collection searched with ``device="cuda"`` and ``device="cpu"``: the same
  ids and scores (within 1e-4) for ``Flat``; for ``IVF``, the GPU's recall@10 against the CPU's
  answer at the same nprobe;
* S2 at 1M on the GPU: batched and single-query QPS of a 1M x 384 ``IVF2048,Flat`` collection,
  with raw FAISS on the GPU as the baseline in the same run.

It refuses to run (exit 2) where FAISS sees no GPU: a CPU-only figure must never pass for a GPU one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import gaussian_mixture

DIM, K, QUERIES = 384, 10, 1000


def _collection(root: Path, name: str, data: np.ndarray, spec: str, device: str) -> Any:
    import latentsearch as ls

    db = ls.connect(root / name, device=device)
    col = db.create_collection("gpu", dim=DIM, index=spec, device=device)
    for start in range(0, len(data), 100_000):
        part = data[start : start + 100_000]
        col.add(vectors=part, ids=[str(i) for i in range(start, start + len(part))])
    col.flush()
    return db, col


def _answers(col: Any, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hits = col.search_vectors(queries, K)
    ids = np.array([[int(h.id) for h in row] for row in hits])
    scores = np.array([[h.score for h in row] for row in hits], dtype=np.float32)
    return ids, scores


def _qps(fn: Any, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="rows for the S2 row (default 1M)")
    ap.add_argument("--tests", default="", help="the gpu tests' pytest summary line")
    ap.add_argument(
        "--cpu-smoke",
        action="store_true",
        help="run every step with the CPU standing in for the GPU (checks this script only; "
        "its figures are not GPU figures and say so)",
    )
    args = ap.parse_args()

    import faiss

    gpu_device = "cpu" if args.cpu_smoke else "cuda"
    if args.cpu_smoke:
        print("CPU SMOKE RUN: the CPU stands in for the GPU; no figure below is a GPU figure.")
    elif faiss.get_num_gpus() == 0:
        print("FAISS sees no GPU here: nothing to check (this is not a pass).", file=sys.stderr)
        return 2
    tests = args.tests or "not run"
    rows = [
        ("gpu-marked tests", tests, "NOT met" if "NOT met" in tests or not args.tests else "met")
    ]
    data, queries = (
        gaussian_mixture(min(args.n, 100_000), DIM, seed=0),
        gaussian_mixture(QUERIES, DIM, seed=1),
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for spec in ("Flat", "IVF1024,Flat"):
            answers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for side, device in (("cpu", "cpu"), ("gpu", gpu_device)):
                db, col = _collection(root, f"{spec}-{side}", data, spec, device)
                answers[side] = _answers(col, queries)
                db.close()
            (ci, cs), (gi, gs) = answers["cpu"], answers["gpu"]
            if spec == "Flat":
                same = float((ci == gi).mean())
                err = float(np.abs(cs - gs).max())
                ok = same == 1.0 and err <= 1e-4
                rows.append(
                    (
                        f"{spec} GPU = CPU",
                        f"ids equal {same:.4f}, max |score diff| {err:.1e}",
                        "met" if ok else "NOT met",
                    )
                )
            else:
                recall = np.mean([len(set(g) & set(c)) / K for g, c in zip(gi, ci, strict=True)])
                rows.append(
                    (
                        f"{spec} GPU recall@10 vs CPU",
                        f"{recall:.4f}",
                        "met" if recall >= 0.99 else "NOT met",
                    )
                )
        big = gaussian_mixture(args.n, DIM, seed=2)
        db, col = _collection(root, "s2", big, "IVF2048,Flat", gpu_device)
        ours_batch = _qps(lambda: col.search_vectors(queries, K), QUERIES)
        ours_single = _qps(lambda: [col.search_vectors(q[None], K) for q in queries[:300]], 300)
        nprobe = col.index_info().params.get("nprobe", 16)
        db.close()
        raw = faiss.index_factory(DIM, "IVF2048,Flat", faiss.METRIC_INNER_PRODUCT)
        raw.train(big[:200_000])
        raw.add(big)
        gpu = raw if args.cpu_smoke else faiss.index_cpu_to_all_gpus(raw)
        gpu.nprobe = nprobe  # the nprobe the collection tuned itself to
        raw_batch = _qps(lambda: gpu.search(queries, K), QUERIES)
        raw_single = _qps(lambda: [gpu.search(q[None], K) for q in queries[:300]], 300)
        rows.append(
            (
                f"S2 {args.n:,} GPU batched QPS",
                f"{ours_batch:,.0f} (raw FAISS {raw_batch:,.0f})",
                f"{raw_batch / ours_batch:.2f}x raw",
            )
        )
        rows.append(
            (
                f"S2 {args.n:,} GPU single QPS",
                f"{ours_single:,.0f} (raw FAISS {raw_single:,.0f})",
                f"{raw_single / ours_single:.2f}x raw",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'check':<{width}}  figure  | verdict")
    for name, figure, verdict in rows:
        print(f"{name:<{width}}  {figure}  | {verdict}")
    if not args.cpu_smoke:  # a smoke run's figures are not GPU figures: never recorded
        # Beside the scenario reports, not among them (bench.report reads bench/results/*.json).
        out = Path("bench/results/gpu/check.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=1))
    return 0 if all("NOT" not in r[2] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
