"""`latentsearch eval`: metrics, input formats, document-level grouping, and Cranfield's reference."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from corpus import ROOT, run, run_json

from latentsearch.encoders import get_encoder
from latentsearch.errors import InvalidInputError
from latentsearch.evaluation import (
    document_ranking,
    load_qrels,
    load_queries,
    ndcg,
    recall,
    reciprocal_rank,
)
from latentsearch.results import Chunk, Hit, Source

DOCS = {
    "d1": "How to reset a forgotten password for the company email account.",
    "d2": "Steps to request a new laptop from the IT department.",
    "d3": "The cafeteria menu changes every week and vegetarian dishes are marked.",
    "d4": "Booking a meeting room through the calendar application.",
    "d5": "Expense reports must include receipts for every purchase.",
    "d6": "Parking permits are issued by the facilities team each January.",
}
QUERIES = {
    "q1": "I forgot my email password",
    "q2": "where do I get a parking permit",
    "q3": "submit receipts",
}
QRELS = {"q1": {"d1": 2, "d4": 0}, "q2": {"d6": 1, "d3": 1}, "q3": {"d5": 3}}


def test_metrics_by_hand() -> None:
    judged = {"a": 3, "b": 2, "c": 0, "d": 1}
    ranked = ["c", "a", "x", "d"]
    dcg = 3 / math.log2(3) + 1 / math.log2(5)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg(ranked, judged, 10) == pytest.approx(dcg / ideal)
    assert ndcg(["a", "b", "d"], judged, 10) == pytest.approx(1.0)
    assert ndcg(ranked, judged, 1) == 0.0
    assert recall(ranked, judged, 2) == pytest.approx(1 / 3) and recall(
        ranked, judged, 4
    ) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranked, judged, 10) == 0.5 and reciprocal_rank(ranked, judged, 1) == 0.0
    assert ndcg(ranked, {"c": 0}, 10) == 0.0


def test_chunk_hits_are_grouped_by_document() -> None:
    def hit(i: str, parent: str | None) -> Hit:
        chunk = Chunk(parent, 0, 1) if parent else None
        return Hit(id=i, score=0.0, kind="text", text="", metadata={}, source=Source(), chunk=chunk)

    hits = [hit("a#2", "a"), hit("b", None), hit("a#0", "a"), hit("c#1", "c"), hit("b", None)]
    assert document_ranking(hits) == ["a", "b", "c"]


def test_query_and_qrels_formats(tmp_path: Path) -> None:
    (tmp_path / "q.jsonl").write_text('{"id": 1, "text": "one"}\n\n{"id": "2", "text": "two"}\n')
    (tmp_path / "q.tsv").write_text("1\tone\n2\ttwo\n")
    assert load_queries(tmp_path / "q.jsonl") == load_queries(tmp_path / "q.tsv")
    (tmp_path / "qrels").write_text("1 0 d1 2\n1 0 d2 -1\n2 Q0 d3 1\n")
    assert load_qrels(tmp_path / "qrels") == {"1": {"d1": 2.0, "d2": -1.0}, "2": {"d3": 1.0}}
    (tmp_path / "bad.tsv").write_text("no tab here\n")
    with pytest.raises(InvalidInputError, match=r"bad\.tsv:1"):
        load_queries(tmp_path / "bad.tsv")
    (tmp_path / "bad.qrels").write_text("1 0 d1\n")
    with pytest.raises(InvalidInputError, match="expected 'qid iteration docid relevance'"):
        load_qrels(tmp_path / "bad.qrels")


def _write_eval_inputs(root: Path) -> None:
    (root / "docs.jsonl").write_text(
        "".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in DOCS.items())
    )
    (root / "queries.tsv").write_text(
        "".join(f"{k}\t{v}\n" for k, v in QUERIES.items()) + "q4\tunjudged query\n"
    )
    (root / "qrels.txt").write_text(
        "".join(f"{q} 0 {d} {g}\n" for q, j in QRELS.items() for d, g in j.items())
    )


def test_eval_matches_brute_force(tmp_path: Path, database: str | None) -> None:
    _write_eval_inputs(tmp_path)
    db_args = ["--database", database] if database else []
    run_json("build", tmp_path / "docs.jsonl", "--index", tmp_path / "idx", *db_args)
    report = run_json(
        "eval",
        "--index",
        tmp_path / "idx",
        "--queries",
        tmp_path / "queries.tsv",
        "--qrels",
        tmp_path / "qrels.txt",
        "-k",
        "3",
        "--depth",
        "4",
        "--per-query",
        *db_args,
    )
    enc = get_encoder("text", device="cpu")
    ids = list(DOCS)
    scores = enc.encode_texts(list(QUERIES.values())) @ enc.encode_texts(list(DOCS.values())).T
    rankings = {
        q: [ids[j] for j in np.argsort(-scores[i], kind="stable")] for i, q in enumerate(QUERIES)
    }
    expect_ndcg = np.mean([ndcg(rankings[q], QRELS[q], 3) for q in QUERIES])
    expect_recall = np.mean([recall(rankings[q], QRELS[q], 4) for q in QUERIES])
    expect_mrr = np.mean([reciprocal_rank(rankings[q], QRELS[q], 3) for q in QUERIES])
    assert report["queries"] == 3 and report["skipped"] == 1 and report["mode"] == "dense"
    assert (
        report["ndcg"] == pytest.approx(expect_ndcg, abs=1e-6)
        and report["ndcg@3"] == report["ndcg"]
    )
    assert report["recall"] == pytest.approx(expect_recall, abs=1e-6) and "recall@4" in report
    assert report["mrr"] == pytest.approx(expect_mrr, abs=1e-6) and "mrr@3" in report
    assert [p["id"] for p in report["per_query"]] == ["q1", "q2", "q3"]
    assert report["mrr"] == 1.0  # every query finds its document first

    table = run(
        "eval",
        "--index",
        tmp_path / "idx",
        "-q",
        tmp_path / "queries.tsv",
        "--qrels",
        tmp_path / "qrels.txt",
        *db_args,
    )
    assert table.exit_code == 0 and "nDCG@10" in table.stdout and "recall@100" in table.stdout
    bad = run(
        "eval",
        "--index",
        tmp_path / "idx",
        "-q",
        tmp_path / "queries.tsv",
        "--qrels",
        tmp_path / "qrels.txt",
        "--mode",
        "sparse",
        *db_args,
    )
    assert bad.exit_code == 2 and "unknown mode 'sparse'" in bad.stderr
    for mode in ("keyword", "hybrid"):  # listed by latentsearch.evaluation.retrievers()
        other = run_json(
            "eval",
            "--index",
            tmp_path / "idx",
            "-q",
            tmp_path / "queries.tsv",
            "--qrels",
            tmp_path / "qrels.txt",
            "--mode",
            mode,
            *db_args,
        )
        assert other["mode"] == mode and other["queries"] == 3 and 0.0 < other["ndcg"] <= 1.0


def _cranfield():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("cranfield", ROOT / "bench" / "cranfield.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CRANFIELD = ROOT / "bench" / "data" / "cranfield"  # vendored: any checkout has it


def test_cranfield_conversion(tmp_path: Path) -> None:
    counts = _cranfield().convert(CRANFIELD, tmp_path)
    assert counts == {"documents": 1400, "queries": 225, "judgements": 1837}
    first = json.loads((tmp_path / "docs.jsonl").read_text().splitlines()[0])
    assert first["id"] == "1" and first["title"].startswith(
        "experimental investigation of the aerodynamics"
    )
    assert (
        first["text"].startswith("experimental investigation")
        and "\n\nexperimental investigation" in first["text"]
    )
    queries = load_queries(tmp_path / "queries.jsonl")
    assert [q.id for q in queries[:3]] == ["1", "2", "3"] and queries[2].text.startswith(
        "what problems of heat conduction"
    )
    qrels = load_qrels(tmp_path / "qrels.txt")
    assert qrels["1"]["184"] == 3 and set(qrels) == {str(i) for i in range(1, 226)}
    assert all(g in (0, 1, 2, 3, 4) for j in qrels.values() for g in j.values())


@pytest.mark.slow
def test_cranfield_reproduces_the_reference_ndcg(tmp_path: Path) -> None:
    """Default model, exact index, default chunking: nDCG@10 = 0.382 +- 0.005 (the data's README)."""
    _cranfield().convert(CRANFIELD, tmp_path / "data")
    build = run_json(
        "build",
        tmp_path / "data" / "docs.jsonl",
        "--index",
        tmp_path / "idx",
        "--index-type",
        "Flat",
    )
    assert build["added"] == 1398 and build["failed"] == 2  # documents 471 and 995 are empty
    assert {(f["where"], f["reason"]) for f in build["failures"]} == {
        ("line 471", "empty: the text field is empty"),
        ("line 995", "empty: the text field is empty"),
    }
    report = run_json(
        "eval",
        "--index",
        tmp_path / "idx",
        "--queries",
        tmp_path / "data" / "queries.jsonl",
        "--qrels",
        tmp_path / "data" / "qrels.txt",
    )
    assert report["queries"] == 225
    assert report["ndcg"] == pytest.approx(0.382, abs=0.005)
    modes = {
        mode: run_json(
            "eval",
            "--index",
            tmp_path / "idx",
            "--queries",
            tmp_path / "data" / "queries.jsonl",
            "--qrels",
            tmp_path / "data" / "qrels.txt",
            "--mode",
            mode,
        )["ndcg"]
        for mode in ("keyword", "hybrid")
    }
    assert modes["keyword"] > 0.3
    assert modes["hybrid"] >= 0.411  # the README's reference for dense + BM25 with RRF (k = 60)
