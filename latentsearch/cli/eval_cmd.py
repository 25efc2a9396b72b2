"""``latentsearch eval``: score a collection on a query set with relevance judgements."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from latentsearch.cli.app import handle_errors, out
from latentsearch.cli.common import (
    DEFAULT_COLLECTION,
    CollectionOpt,
    DatabaseOpt,
    DeviceOpt,
    IndexOpt,
    JsonOpt,
    open_collection,
    open_index,
)
from latentsearch.cli.output import print_json
from latentsearch.errors import InvalidInputError

# The names in `latentsearch.evaluation.retrievers()`, for --help without importing the evaluation
# (and with it the query layer); tests/cli/test_cli_lazy.py checks that they agree.
MODES = ("dense", "hybrid", "hybrid-rrf", "keyword")

EXAMPLES = """
[bold]Examples[/bold]

  latentsearch eval --index idx --queries queries.jsonl --qrels qrels.txt
  latentsearch eval --index idx --queries queries.tsv --qrels qrels.txt -k 5 --json
  python bench/cranfield.py convert bench/data/cranfield cran/ \\
    && latentsearch build cran/docs.jsonl --index cran-idx --index-type Flat \\
    && latentsearch eval --index cran-idx --queries cran/queries.jsonl --qrels cran/qrels.txt

Queries: JSONL ({"id": ..., "text": ...} per line) or TSV (id<TAB>text).
Qrels: TREC format, 'qid iteration docid relevance', graded relevance allowed (> 0 is relevant).
"""


@handle_errors
def eval_command(
    index: IndexOpt,
    queries: Annotated[
        Path, typer.Option("--queries", "-q", show_default=False, help="Queries: JSONL or TSV.")
    ],
    qrels: Annotated[
        Path,
        typer.Option("--qrels", show_default=False, help="Relevance judgements in TREC format."),
    ],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Cutoff for nDCG@k and MRR@k.")] = 10,
    depth: Annotated[
        int, typer.Option("--depth", min=1, max=10_000, help="Cutoff for recall@depth.")
    ] = 100,
    mode: Annotated[
        str, typer.Option("--mode", help=f"Retrieval mode: {', '.join(MODES)}.")
    ] = "dense",
    collection: CollectionOpt = DEFAULT_COLLECTION,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    per_query: Annotated[
        bool, typer.Option("--per-query", help="With --json: include each query's scores.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Measure retrieval quality: nDCG@k, recall@depth and MRR@k at document level.

    Chunk hits are grouped by their document: a document ranks where its best chunk ranks. Queries without any relevant judgement are not scored (they are counted as skipped).
    """
    from latentsearch.evaluation import evaluate, load_qrels, load_queries, retrievers

    modes = retrievers()
    if mode not in modes:
        raise InvalidInputError(f"unknown mode {mode!r}; available: {', '.join(sorted(modes))}")
    qs = load_queries(queries)
    judged = load_qrels(qrels)
    with open_index(index, database, device) as db:
        col = open_collection(db, collection)
        report = evaluate(col, qs, judged, k=k, depth=max(depth, k), mode=mode)
    if json_out:
        data = dataclasses.asdict(report)
        if not per_query:
            data.pop("per_query")
        data.update(
            {
                f"ndcg@{report.k}": report.ndcg,
                f"recall@{report.depth}": report.recall,
                f"mrr@{report.k}": report.mrr,
            }
        )
        print_json(data)
        return
    table = Table(
        title=f"{collection!r}, mode {report.mode}, {report.queries} queries", title_justify="left"
    )
    for name in (f"nDCG@{report.k}", f"recall@{report.depth}", f"MRR@{report.k}"):
        table.add_column(name, justify="right")
    table.add_row(f"{report.ndcg:.4f}", f"{report.recall:.4f}", f"{report.mrr:.4f}")
    out.print(table)
    extra = f", {report.skipped} without relevant judgements skipped" if report.skipped else ""
    out.print(f"[dim]{report.queries} queries in {report.elapsed_s:.1f} s{extra}[/dim]")
