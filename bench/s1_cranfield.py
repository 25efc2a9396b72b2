"""S1: Cranfield text end to end: ingest speed, query latency and nDCG@10, ours vs txtai, Chroma, LanceDB.

Data: the Cranfield collection (``bench/data/cranfield``: 1,400 abstracts, 225 queries, graded
judgements), parsed by ``bench/cranfield.py``; each document's text is its title, a blank line and
its abstract. Every system uses the bundled all-MiniLM-L6-v2 weights (a local path) and runs in its
own child process, so imports and peak RSS are its own:

* latentsearch: ``ls.connect`` + ``create_collection(encoder="text", index="Flat")`` + ``add``
  with metadata and source (exact search, so nDCG@10 compares with the fp32 reference 0.382);
* txtai: ``Embeddings(path=model, content=True)``, ``index`` then ``save``;
* Chroma: ``PersistentClient`` with a sentence-transformers embedding function (cosine HNSW);
* LanceDB: a table with its registry's sentence-transformers embedding function, no vector index
  (its docs: none needed below ~100k rows), cosine exact kNN;
* floor: sentence-transformers ``encode`` + raw FAISS ``IndexFlatIP`` + a Python metadata list.

Measured per system: set-up (imports, model load), ingest docs/s (raw documents to a persisted,
searchable store), query p50/p95 (one query at a time, text in, k=10 hits with content or
metadata out) over the 225 distinct queries, the same on a second pass over the same queries
(where a query-embedding cache pays), nDCG@10 at document level, and peak RSS.

    PYTHONPATH=. python -m bench.s1_cranfield            # full: every system on all 1,400 docs
    PYTHONPATH=. python -m bench.s1_cranfield --quick    # ≤ 3 min on 2 idle cores

``--quick`` times every system's ingest on the first 200 documents only and measures the peers'
query latency on those; latentsearch then adds the other 1,198 documents (untimed), so its
nDCG@10 and latency are on the full collection. The peers' nDCG@10 is measured in the full run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import common
from bench.common import Goal, Metric, Report, Row
from bench.cranfield import REFERENCE_NDCG10, documents, qrels, queries
from bench.s1_long import N_QUERIES, QUICK_QUERIES, flops, long_qrels, long_queries, token_counts
from bench.s1_systems import SYSTEMS

QUICK_DOCS = 200
WARMUP = ["warm-up query about wings", "another warm-up query on heat", "a third warm-up query"]
LABELS = {"ours": "ours", "txtai": "peer", "chroma": "peer", "lancedb": "peer", "floor": "floor"}
PEERS = ("txtai", "chroma", "lancedb")


def child(args: argparse.Namespace) -> None:
    """Measure one system; print one JSON line."""
    from latentsearch.encoders.st import bundled_text_model
    from latentsearch.evaluation.metrics import ndcg

    docs = [d for d in documents(args.data) if d["text"].strip()]  # 2 of the 1,400 are empty
    qs = list(queries(args.data))
    judged: dict[str, dict[str, float]] = {}
    for qid, did, g in qrels(args.data):
        judged.setdefault(qid, {})[did] = g
    if args.long:  # S1L: documents as queries (bench.s1_long)
        qs = long_queries(docs, QUICK_QUERIES if args.ingest_docs else N_QUERIES)
        judged = long_qrels(qs, qrels(args.data))
    n = args.ingest_docs or len(docs)
    with tempfile.TemporaryDirectory(prefix="s1-") as tmp:
        system = SYSTEMS[args.child](Path(tmp), bundled_text_model(), args.backend)
        if args.profile:
            return profile(system, docs[:n], [q["text"] for q in qs], args.profile)
        with common.Timer() as setup:
            system.setup()
        with common.Timer() as ingest:
            system.ingest(docs[:n])
        full = n == len(docs)
        # S1L's fp32 reference nDCG is the floor's: it too searches everything in a quick run
        if not full and (args.child == "ours" or (args.long and args.child == "floor")):
            system.ingest(docs[n:])  # untimed: nDCG needs the whole collection
            full = True
        texts = [q["text"] for q in qs]
        for w in WARMUP:  # not Cranfield queries: nothing of the timed pass is cached by them
            system.search(w)
        first, ranked = timed(system.search, texts)
        result = {
            "setup_s": setup.s,
            "ingest_docs": n,
            "docs_per_s": n / ingest.s,
            **common.percentiles(first),
            "searched_docs": len(docs) if full else n,
        }
        if args.child == "ours" or not args.ingest_docs:  # quick: peers have no cache to show
            again, _ = timed(system.search, texts)
            result["repeat_p50_ms"] = 1000 * statistics.median(again)
        if args.long:  # the encoder alone, on the same texts (uncached), after the query passes
            enc, _ = timed(lambda t: [system.encode(t)], texts)
            tokens = token_counts(system.model, texts)
            result["encode_p50_ms"] = 1000 * statistics.median(enc)
            result["encode_share"] = sum(enc) / sum(first)
            result["encode_gflops"] = sum(flops(n) for n in tokens) / sum(enc) / 1e9
            result["tokens_mean"] = statistics.fmean(tokens)
            if args.child == "ours":
                result["backend"] = system.col.encoder.identity.backend
                result["precision"] = _precision(result["backend"])
        if full:
            result["ndcg10"] = statistics.fmean(
                ndcg(r, judged[q["id"]], 10)
                for q, r in zip(qs, ranked, strict=True)
                if any(g > 0 for g in judged.get(q["id"], {}).values())
            )
        system.close()
    result["rss_mib"] = common.peak_rss_mib()
    common.emit(result)


def timed(
    search: Callable[[str], list[str]], texts: list[str]
) -> tuple[list[float], list[list[str]]]:
    """Seconds per query, one at a time, and each query's ranked document ids."""
    times, ranked = [], []
    for t in texts:
        start = time.perf_counter()
        ranked.append(search(t))
        times.append(time.perf_counter() - start)
    return times, ranked


def profile(system, docs: list[dict[str, str]], texts: list[str], prefix: Path) -> None:
    """Development aid: cProfile the ingest and one pass of queries (``PREFIX-ingest.prof``...)."""
    import cProfile

    system.setup()
    for what, fn in (
        ("ingest", lambda: system.ingest(docs)),
        ("query", lambda: [system.search(t) for t in texts]),
    ):
        with common.Timer() as t:
            cProfile.runctx("fn()", globals(), {"fn": fn}, f"{prefix}-{what}.prof")
        print(f"{what}: {t.s:.2f} s", file=sys.stderr)
    system.close()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data", type=Path, default=common.CRANFIELD)
    p.add_argument("--systems", default="ours,txtai,chroma,lancedb,floor")
    p.add_argument("--long", action="store_true", help="S1L: documents as queries (bench.s1_long)")
    p.add_argument("--backend", default=None, help="encoder backend for latentsearch (S5)")
    p.add_argument("--python", default=sys.executable, help="Python with the peers installed")
    p.add_argument("--child", choices=sorted(SYSTEMS), help=argparse.SUPPRESS)
    p.add_argument("--ingest-docs", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument(
        "--profile", type=Path, help="with --child: cProfile ingest and queries into this prefix"
    )
    args = p.parse_args()
    if args.child:
        return child(args)
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    if args.long:  # the machine's fp32 limit, measured before the systems, in this run
        from bench.s6_limits import limits

        results["limit"] = limits(quick=True)
    for name in args.systems.split(","):
        argv = ["-m", "bench.s1_cranfield", "--child", name, "--data", str(args.data)]
        argv += ["--ingest-docs", str(QUICK_DOCS if args.quick else 0)]
        argv += ["--long"] if args.long else []
        if args.backend and name == "ours":
            argv += ["--backend", args.backend]
        print(f"S1: {name}...", file=sys.stderr, flush=True)
        results[name] = common.run_child(argv, python=args.python)
        print(f"S1: {name}: {json.dumps(results[name])}", file=sys.stderr, flush=True)
    rep = build_long_report(results, args.quick) if args.long else build_report(results, args.quick)
    common.report(rep, quick=args.quick, started=t0)
    return None


def build_report(results: dict[str, dict], quick: bool) -> Report:
    rows = [
        Row(
            SYSTEMS[k].name,
            LABELS[k],
            v,
            note=f"{v['ingest_docs']} docs ingested, {v['searched_docs']} searched",
        )
        for k, v in results.items()
    ]
    rep = Report(
        scenario="S1",
        title="Cranfield text end to end",
        data="Cranfield: 1,400 abstracts (title + text), 225 queries; all-MiniLM-L6-v2; k=10",
        metrics=[
            Metric("setup_s", "set-up s", "lower", "{:.1f}"),
            Metric("docs_per_s", "ingest docs/s", "higher", "{:.0f}"),
            Metric("p50_ms", "query p50 ms", "lower", "{:.2f}"),
            Metric("p95_ms", "query p95 ms", "lower", "{:.2f}"),
            Metric("repeat_p50_ms", "repeat p50 ms", "lower", "{:.2f}"),
            Metric("ndcg10", "nDCG@10", "higher", "{:.4f}"),
            Metric("rss_mib", "peak RSS MiB", "lower", "{:.0f}"),
        ],
        rows=rows,
        notes=[
            "query p50/p95: first pass over the 225 distinct queries, one at a time; repeat p50: a second pass over the same queries",
            f"reference nDCG@10 (exact fp32 cosine, the data's README): {REFERENCE_NDCG10}",
        ],
    )
    if quick:
        rep.notes.append(
            f"quick: ingest timed on the first {QUICK_DOCS} documents; peers searched those only, so their nDCG@10 is not measured"
        )
    ours = results.get("ours", {})
    peers = [results[k] for k in PEERS if k in results]
    best_p50 = min((r["p50_ms"] for r in peers), default=None)
    best_ingest = max((r["docs_per_s"] for r in peers), default=None)
    if ours and best_p50 is not None and best_ingest is not None:
        rep.goals.append(
            Goal(
                "query p50 vs the best of txtai, Chroma and LanceDB",
                "≤ 0.5×",
                f"{ours['p50_ms'] / best_p50:.2f}× ({ours['p50_ms']:.2f} vs {best_p50:.2f} ms)",
                ours["p50_ms"] <= 0.5 * best_p50,
            )
        )
        rep.goals.append(
            Goal(
                "ingest docs/s vs the best of txtai, Chroma and LanceDB",
                "≥ 2×",
                f"{ours['docs_per_s'] / best_ingest:.2f}× ({ours['docs_per_s']:.0f} vs {best_ingest:.0f} docs/s)",
                ours["docs_per_s"] >= 2 * best_ingest,
            )
        )
    if "ndcg10" in ours:
        target = 0.99 * REFERENCE_NDCG10
        rep.goals.append(
            Goal(
                "nDCG@10 vs the exact fp32 reference",
                f"≥ {target:.3f} (0.99 × {REFERENCE_NDCG10})",
                f"{ours['ndcg10']:.4f}",
                ours["ndcg10"] >= target,
            )
        )
    return rep


def _precision(backend: str) -> str:
    """The precision the backend's matmuls run in: OpenVINO picks bf16 where the CPU has it."""
    if backend.endswith("int8"):
        return "int8"
    if backend.startswith("openvino"):
        import openvino as ov

        hint = str(
            ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT")
        )  # "<Type: 'bfloat16'>"
        return "bf16" if "bfloat16" in hint or "bf16" in hint else hint
    return "f32"


def build_long_report(results: dict[str, dict], quick: bool) -> Report:
    """S1L's table and goals (see `bench.s1_long`)."""
    lim = results.pop("limit")
    sgemm = lim["sgemm_gflops"]
    rows = [
        Row(SYSTEMS[k].name + (f" ({v['backend']})" if "backend" in v else ""), LABELS[k], v)
        for k, v in results.items()
    ]
    rows.append(Row("fp32 sgemm (S6)", "limit", {"encode_gflops": sgemm}, lim["sgemm_how"]))
    if lim.get("bf16_gflops"):
        rows.append(
            Row("bf16 matmul", "limit", {"encode_gflops": lim["bf16_gflops"]}, lim["bf16_how"])
        )
    rep = Report(
        scenario="S1L",
        title="Cranfield long queries: abstracts as queries, encoder share and GFLOP/s",
        data=f"Cranfield: the first {QUICK_QUERIES if quick else N_QUERIES} abstracts as queries (title + text, ≤256 tokens) over all "
        "1,398; relevance = itself + its judged neighbours (bench/s1_long.py); all-MiniLM-L6-v2; k=10",
        metrics=[
            Metric("p50_ms", "query p50 ms", "lower", "{:.2f}"),
            Metric("p95_ms", "query p95 ms", "lower", "{:.2f}"),
            Metric("encode_p50_ms", "encode p50 ms", "lower", "{:.2f}"),
            Metric("encode_share", "encoder share", "lower", "{:.2f}"),
            Metric("encode_gflops", "encoder GFLOP/s", "higher", "{:.1f}"),
            Metric("ndcg10", "nDCG@10", "higher", "{:.4f}"),
        ],
        rows=rows,
        notes=[
            "encoder GFLOP/s: MiniLM-L6 FLOPs of each query (6 layers × (24·L·h² + 4·L²·h), "
            "h=384, FFN 1536, L its tokens) over the system's own encode call, one text at a time",
            f"limit: {lim['detail']} (bench.s6_limits, quick sizes, in this run)",
            "fp32 reference nDCG@10: the floor (sentence-transformers fp32 + exact FAISS) in this run",
        ],
        extra={"limits": lim},
    )
    if quick:
        rep.notes.append(
            f"quick: peers ingest the first {QUICK_DOCS} documents only, so their nDCG@10 is not measured"
        )
    ours, floor = results.get("ours", {}), results.get("floor", {})
    peers = [(k, results[k]) for k in PEERS if k in results]
    if ours and peers:
        name, best = min(peers, key=lambda kv: kv[1]["p50_ms"])
        rep.goals.append(
            Goal(
                "long queries: p50 vs the best peer",
                "≤ 0.6×",
                f"{ours['p50_ms'] / best['p50_ms']:.2f}× ({ours['p50_ms']:.1f} vs {name} {best['p50_ms']:.1f} ms)",
                ours["p50_ms"] <= 0.6 * best["p50_ms"],
            )
        )
    if ours and "ndcg10" in ours and "ndcg10" in floor:
        rep.goals.append(
            Goal(
                "long queries: nDCG@10 vs fp32 (the floor, same run)",
                f"≥ {0.99 * floor['ndcg10']:.4f} (0.99 × {floor['ndcg10']:.4f})",
                f"{ours['ndcg10']:.4f} ({ours['ndcg10'] / floor['ndcg10']:.4f}×)",
                ours["ndcg10"] >= 0.99 * floor["ndcg10"],
            )
        )
    if ours:
        # The goal is the fp32 limit; a bf16 encoder is also held against the bf16 limit.
        like = ""
        if ours.get("precision") == "bf16" and lim.get("bf16_gflops"):
            bf16 = lim["bf16_gflops"]
            like = f"; it computes in bf16 here: {100 * ours['encode_gflops'] / bf16:.0f}% of the bf16 limit, {bf16:.0f} GFLOP/s"
        rep.goals.append(
            Goal(
                f"long queries: query encoder ({ours.get('backend', '?')}) vs the fp32 sgemm limit",
                "≥ 60%",
                f"{100 * ours['encode_gflops'] / sgemm:.0f}% ({ours['encode_gflops']:.1f} of {sgemm:.1f} GFLOP/s; encoder share {ours['encode_share']:.2f}{like})",
                ours["encode_gflops"] >= 0.6 * sgemm,
            )
        )
    return rep


if __name__ == "__main__":
    main()
