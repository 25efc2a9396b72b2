"""``latentsearch build``: index files, folders and globs, incrementally."""

from __future__ import annotations

import functools
from typing import Annotated

import typer

from latentsearch.cli.app import EXIT_FAILED, EXIT_USAGE, err, fail, handle_errors
from latentsearch.cli.common import DEFAULT_COLLECTION, DatabaseOpt, DeviceOpt, IndexOpt, open_index
from latentsearch.cli.output import print_json

# `latentsearch.ingest.options.DEFAULT_BATCH`, written out so that --help imports no ingest code
# (tests/cli/test_cli_lazy.py checks that they agree).
DEFAULT_BATCH = 512

EXAMPLES = """
[bold]Examples[/bold]

  latentsearch build docs/ --index idx
  latentsearch build docs/ tickets.jsonl 'wiki/**/*.html' --index idx --prune
  latentsearch build exports/tickets.csv --index idx --id-field key --text-field summary --text-field body
  latentsearch build docs/ --index idx --include '*.md' --exclude drafts --acl group:eng
  latentsearch build photos/ notes/ --index idx --collection media --encoder clip
  latentsearch build corpus/ --index idx --recall-target 0.98 --memory-budget 4GiB --storage float16
  latentsearch build docs/ --index idx --database postgresql+psycopg://me@localhost/search --json

[bold]On a Ray cluster[/bold] (pip install 'latentsearch\\[distributed]'; docs/cluster.md)

  latentsearch build corpus/ --index idx --database $PG --cluster auto --shards 4 --replicas 2
  latentsearch build corpus/ --index idx --database $PG --cluster 10.0.0.5:6379 --workers 8 --batch-size 256
"""


@handle_errors
def build_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders (read recursively) and globs (quote them).", show_default=False
        ),
    ],
    index: IndexOpt,
    collection: Annotated[
        str,
        typer.Option(
            "--collection",
            "-c",
            envvar="LATENTSEARCH_COLLECTION",
            help="Collection to build (created if missing).",
        ),
    ] = DEFAULT_COLLECTION,
    encoder: Annotated[
        str | None,
        typer.Option(
            "--encoder",
            "-e",
            show_default=False,
            help="For a new collection: text (default, all-MiniLM-L6-v2), clip, or a model name or folder. For an existing one it must match.",
        ),
    ] = None,
    database: DatabaseOpt = None,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            show_default=False,
            help="Only files matching this glob (repeatable), e.g. '*.md'.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            show_default=False,
            help="Skip files or folders matching this glob (repeatable), e.g. drafts or 'archive/*'.",
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size",
            min=8,
            show_default=False,
            help="Tokens per chunk (default: what the encoder reads, 254 for the default model).",
        ),
    ] = None,
    chunk_overlap: Annotated[
        int | None,
        typer.Option(
            "--chunk-overlap",
            min=0,
            show_default=False,
            help="Tokens shared by consecutive chunks (default: chunk size / 8).",
        ),
    ] = None,
    acl: Annotated[
        list[str] | None,
        typer.Option(
            "--acl",
            show_default=False,
            help="Principal allowed to see documents that carry no ACL of their own (repeatable). Default: everyone ('*').",
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option("--prune", help="Remove documents whose files are gone from the sources."),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any file or record failed.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (and no progress bar).")
    ] = False,
    id_field: Annotated[
        str, typer.Option("--id-field", help="Record field holding the id (JSONL, JSON, CSV).")
    ] = "id",
    text_field: Annotated[
        list[str] | None,
        typer.Option(
            "--text-field",
            show_default=False,
            help="Record field holding the text (repeatable: joined by blank lines). Default: text.",
        ),
    ] = None,
    max_file_size: Annotated[
        str,
        typer.Option(
            "--max-file-size",
            help="Skip text, HTML, PDF and image files larger than this (record files stream and have no limit).",
        ),
    ] = "64MB",
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            help="Items embedded and written per batch (bigger batches sort by length: less padding).",
        ),
    ] = DEFAULT_BATCH,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Read every file again, even unchanged ones (unchanged texts are still not re-embedded).",
        ),
    ] = False,
    index_spec: Annotated[
        str,
        typer.Option(
            "--index-type",
            help="For a new collection: FAISS factory string (Flat, HNSW32, IVF1024,Flat...) or auto.",
        ),
    ] = "auto",
    recall_target: Annotated[
        float,
        typer.Option(
            "--recall-target",
            min=0.01,
            max=1.0,
            help="For a new collection: recall@10 that approximate indexes are tuned to reach.",
        ),
    ] = 0.95,
    memory_budget: Annotated[
        str | None,
        typer.Option(
            "--memory-budget",
            help="For a new collection with --index-type auto: the most memory the index may use (e.g. 4GiB).",
        ),
    ] = None,
    storage: Annotated[
        str,
        typer.Option(
            "--storage",
            help="For a new collection with --index-type auto: vector codes, float32, float16 or "
            "sq8, or rabitq, pq or binary (about a bit per dimension, refined from float16 "
            "vectors on disk).",
        ),
    ] = "float32",
    device: DeviceOpt = "auto",
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            envvar="LATENTSEARCH_CLUSTER",
            show_default=False,
            help="Embed on a Ray cluster (auto: the one this machine belongs to; or host:6379, ray://host:10001) and serve the collection from shard actors. Needs --database postgresql+psycopg://...",
        ),
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            min=1,
            show_default=False,
            help="For a new collection on a cluster: index shards (item id modulo shards). Default 1.",
        ),
    ] = None,
    replicas: Annotated[
        int | None,
        typer.Option(
            "--replicas",
            min=1,
            show_default=False,
            help="For a new collection on a cluster: copies of each shard, on different nodes where there are enough. Default 1.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            show_default=False,
            help="With --cluster: encoder actors (default: one per CPU of the cluster, or one per GPU).",
        ),
    ] = None,
) -> None:
    """Index documents, record exports and images into a collection, incrementally.

    Files whose bytes are unchanged since the last build are skipped; changed files are read again and only changed texts are re-embedded. Unreadable files are skipped and listed with the reason.

    Reads .txt .md .rst .html .htm .pdf, records from .jsonl .json .csv, and images (.png .jpg .jpeg .webp .gif .bmp) in CLIP collections.
    """

    from latentsearch.cli.build_report import RichReporter, print_summary
    from latentsearch.cli.output import parse_size
    from latentsearch.ingest.build import build
    from latentsearch.ingest.options import DEFAULT_MAX_FILE_SIZE, BuildOptions
    from latentsearch.ingest.record_files import FieldMap

    if cluster is None and (workers is not None or shards is not None or replicas is not None):
        fail(
            "--workers, --shards and --replicas need --cluster (a Ray cluster to run on)",
            EXIT_USAGE,
        )
    if cluster is not None:
        from latentsearch.ingest.encoder_pool import import_ray

        import_ray()  # MissingExtraError naming the extra, before anything is opened
    size_limit = parse_size(max_file_size) if max_file_size else DEFAULT_MAX_FILE_SIZE
    options = BuildOptions(
        sources=sources,
        include=include or (),
        exclude=exclude or (),
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        acl=acl or None,
        prune=prune,
        force=force,
        fields=FieldMap(id_field=id_field, text_fields=tuple(text_field or ("text",))),
        max_file_size=size_limit,
        batch_size=batch_size,
    )
    with open_index(index, database, device, create=True, cluster=cluster) as db:
        exists = any(c.name == collection for c in db.collections())
        if exists:  # opening it loads no model: a build with nothing to embed stays fast
            col = db.collection(collection, encoder=encoder)
        else:
            col = db.create_collection(
                collection,
                encoder=encoder or "text",
                index=index_spec,
                recall_target=recall_target,
                memory_budget=memory_budget,
                storage=storage,
                shards=shards,
                replicas=replicas,
            )
        run = build
        if cluster is not None:
            from latentsearch.ingest.distributed import ClusterOptions, build_distributed

            where = ClusterOptions(cluster=cluster, workers=workers)
            run = functools.partial(build_distributed, cluster=where)
        if json_out or not err.is_terminal:
            summary = run(db, col, options)
        else:
            with RichReporter() as reporter:
                summary = run(db, col, options, reporter)
    if json_out:
        print_json(summary.to_dict())
    else:
        print_summary(summary)
    if summary.indexed == 0 and summary.documents.removed == 0:
        fail(
            "nothing could be indexed"
            + (
                f": {summary.failures[0]}"
                if summary.failures
                else "; no supported files in the sources"
            ),
            EXIT_FAILED,
        )
    if strict and summary.failed:
        fail(f"{summary.failed} file(s) or record(s) failed (--strict)", EXIT_FAILED)
