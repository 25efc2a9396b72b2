"""S5: encoder backends. torch float32 vs ONNX Runtime (float32, int8) vs OpenVINO, on Cranfield.

For each backend of the bundled all-MiniLM-L6-v2 (exported locally, no network), in one process:

* short texts: the 225 Cranfield queries, encoded in batches of 64 (sentences/s, best of 3 passes
  after a warm-up pass), and one query at a time (p50 ms: the query path);
* long texts: Cranfield documents (title + abstract, truncated at 256 tokens as the model does),
  encoded in batches of 64 (documents/s);
* quality: nDCG@10 of exact cosine search with that backend's vectors (queries and documents),
  scored with `latentsearch.evaluation.metrics` over the judged queries.

torch float32 is the baseline (kind ``floor``): every other row shows its ratio to it. The goal:
the default backend (``backend="auto"``, measured at first use on this machine by
`latentsearch.encoders.autotune`) is the fastest whose nDCG@10 is ≥ 0.99× torch's. A full run
also prints the int8/float32 nDCG ratio with the model's fingerprint: that is the offline check
recorded in ``autotune.INT8_VERIFIED`` (int8 is an auto candidate only where it is ≥ 0.99).
Throughput is the geometric mean of the short and long speed-ups.

``--quick`` scores the first 40 judged queries against a 300-document corpus (their judged
documents, then the lowest ids) instead of all 225 against 1,400: nDCG values differ from the
full figure (0.382), but each backend's ratio to torch is on the same data.

    PYTHONPATH=. python -m bench.s5_backends [--quick] [--data DIR] [--backends torch,onnx,...]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CRANFIELD, Goal, Metric, Report, Row, Timer, percentiles, report, time_each
from bench.cranfield import convert
from latentsearch.encoders import BACKENDS, get_encoder
from latentsearch.encoders.export import META, export_dir
from latentsearch.encoders.st import bundled_text_model, fingerprint, resolve_encoder_backend
from latentsearch.errors import EncoderBackendError
from latentsearch.evaluation.data import Qrels, load_qrels, load_queries
from latentsearch.evaluation.metrics import ndcg

BATCH = 64
GATE = 0.99
SHORT_PASSES = 3


def load_data(data: Path, quick: bool) -> tuple[list[str], list[str], list[str], list[str], Qrels]:
    """(doc ids, doc texts, query ids, query texts, qrels): judged queries only."""
    with tempfile.TemporaryDirectory() as tmp:
        convert(data, Path(tmp))
        docs = [json.loads(line) for line in (Path(tmp) / "docs.jsonl").open()]
        docs = [d for d in docs if d["text"].strip()]  # two records are empty: nothing to embed
        queries = load_queries(Path(tmp) / "queries.jsonl")
        qrels = load_qrels(Path(tmp) / "qrels.txt")
    queries = [q for q in queries if any(g > 0 for g in qrels.get(q.id, {}).values())]
    if quick:
        queries = queries[:40]
        judged = {d for q in queries for d in qrels[q.id]}
        keep = [d for d in docs if d["id"] in judged]
        keep += [d for d in docs if d["id"] not in judged][: max(0, 300 - len(keep))]
        docs = sorted(keep, key=lambda d: int(d["id"]))
    return (
        [d["id"] for d in docs],
        [d["text"] for d in docs],
        [q.id for q in queries],
        [q.text for q in queries],
        qrels,
    )


def measure(backend: str, doc_texts: list[str], query_texts: list[str]) -> dict[str, Any]:
    variant = "onnx-int8" if backend == "onnx-int8" else "onnx"
    cached = (export_dir(fingerprint(bundled_text_model()), variant) / META).is_file()
    with Timer() as load:
        enc = get_encoder("text", device="cpu", batch_size=BATCH, backend=backend)
    # Warm-up over every query: first-run allocations, thread pools, and the per-shape kernels
    # OpenVINO builds the first time it sees a sequence length.
    enc.encode_texts(query_texts)
    short_s = math.inf
    for _ in range(SHORT_PASSES):  # a pass over the queries takes about a second: best of 3
        with Timer() as t_short:
            q = enc.encode_texts(query_texts)
        short_s = min(short_s, t_short.s)
    single = percentiles(time_each(lambda t: enc.encode_texts([t]), query_texts[:30]))
    with Timer() as t_long:
        d = enc.encode_texts(doc_texts)
    return {
        "short_per_s": len(query_texts) / short_s,
        "long_per_s": len(doc_texts) / t_long.s,
        "single_p50_ms": single["p50_ms"],
        "load_s": load.s,
        "exported": backend != "torch" and not cached,
        "q": q,
        "d": d,
    }


def score(q: np.ndarray, d: np.ndarray, doc_ids: list[str], qids: list[str], qrels: Qrels) -> float:
    top = np.argsort(-(q @ d.T), axis=1)[:, :10]
    return float(
        np.mean(
            [
                ndcg([doc_ids[j] for j in row], qrels[qid], 10)
                for qid, row in zip(qids, top, strict=True)
            ]
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a 300-document subset (see above)")
    parser.add_argument("--data", type=Path, default=CRANFIELD, help="the Cranfield folder")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    doc_ids, doc_texts, qids, query_texts, qrels = load_data(args.data, args.quick)
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for backend in args.backends.split(","):
        try:
            results[backend] = measure(backend, doc_texts, query_texts)
        except EncoderBackendError as exc:
            skipped[backend] = str(exc)
        else:
            r = results[backend]
            r["ndcg10"] = score(r.pop("q"), r.pop("d"), doc_ids, qids, qrels)
    base = results.get("torch")
    auto = resolve_encoder_backend("auto", folder=bundled_text_model(), device="cpu")
    if base and "onnx-int8" in results:
        ratio = results["onnx-int8"]["ndcg10"] / base["ndcg10"]
        print(
            f"int8 check ({'quick subset' if args.quick else 'full Cranfield'}): fingerprint "
            f"{fingerprint(bundled_text_model())} nDCG@10 int8/fp32 = {ratio:.4f} "
            f"({'within' if ratio >= GATE else 'outside'} the {GATE} bound)"
        )
    rows, speed = [], {}
    for backend, r in results.items():
        note = "baseline" if backend == "torch" else ""
        if r["exported"]:
            note = "load includes the one-time export"
        if backend == auto:
            note = (note + "; " if note else "") + "the default (auto)"
        values = {
            k: r[k] for k in ("short_per_s", "long_per_s", "single_p50_ms", "ndcg10", "load_s")
        }
        if base:
            values["ndcg_ratio"] = r["ndcg10"] / base["ndcg10"]
            speed[backend] = math.sqrt(
                r["short_per_s"] / base["short_per_s"] * r["long_per_s"] / base["long_per_s"]
            )
            values["speedup"] = speed[backend]
        rows.append(
            Row(
                f"{backend}: {BACKENDS[backend]}",
                "floor" if backend == "torch" else "ours",
                values,
                note,
            )
        )
    rows += [
        Row(f"{b}: {BACKENDS.get(b, '?')}", "ours", {}, f"not run: {why}")
        for b, why in skipped.items()
    ]
    goals = [_goal(results, speed, auto)]
    rep = Report(
        scenario="S5",
        title="encoder backends (all-MiniLM-L6-v2, CPU)",
        data=f"Cranfield: {len(query_texts)} judged queries (short), {len(doc_texts)} documents (long, ≤256 tokens); batch {BATCH}",
        metrics=[
            Metric("short_per_s", "short texts/s", "higher"),
            Metric("long_per_s", "long texts/s", "higher"),
            Metric("single_p50_ms", "1 query p50 ms", "lower", "{:.2f}"),
            Metric("ndcg10", "nDCG@10", "higher", "{:.4f}"),
            Metric("ndcg_ratio", "nDCG ÷ torch", "higher", "{:.4f}"),
            Metric("speedup", "speed-up ÷ torch", "higher", "{:.2f}"),
            Metric("load_s", "load s", "lower"),
        ],
        rows=rows,
        goals=goals,
        notes=[
            "speed-up: geometric mean of the short and long throughput ratios to torch float32",
            "exports are cached under $LATENTSEARCH_CACHE (default ~/.cache/latentsearch); a cold run's load includes the export",
        ]
        + (
            [
                "quick: 40 queries over a 300-document corpus; nDCG is not comparable with the full 0.382"
            ]
            if args.quick
            else []
        ),
    )
    report(rep, quick=args.quick, started=started)


def _goal(results: dict[str, dict[str, Any]], speed: dict[str, float], auto: str) -> Goal:
    text = "default backend = the fastest with nDCG@10 ≥ 0.99× torch fp32"
    if "torch" not in results:
        return Goal(text, f"≥ {GATE}× fp32", "torch baseline not run", None)
    floor = GATE * results["torch"]["ndcg10"]
    ok = [b for b, r in results.items() if r["ndcg10"] >= floor]
    best = max(ok, key=lambda b: speed[b])
    measured = f"fastest passing: {best} ({speed[best]:.2f}× torch, nDCG {results[best]['ndcg10']:.4f}); auto chose: {auto}"
    return Goal(text, f"nDCG@10 ≥ {floor:.4f}", measured, best == auto)


if __name__ == "__main__":
    main()
