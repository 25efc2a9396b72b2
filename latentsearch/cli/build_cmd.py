"""``latentsearch build``: index files, folders and globs, incrementally."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from latentsearch.cli.app import EXIT_FAILED, err, fail, handle_errors, out
from latentsearch.cli.common import DEFAULT_COLLECTION, DatabaseOpt, DeviceOpt, IndexOpt, open_index
from latentsearch.cli.output import print_json
from latentsearch.ingest.build import DEFAULT_MAX_FILE_SIZE, BuildOptions, build
from latentsearch.ingest.record_files import FieldMap
from latentsearch.ingest.report import BuildSummary

LISTED = 20

EXAMPLES = """
[bold]Examples[/bold]

  latentsearch build docs/ --index idx
  latentsearch build docs/ tickets.jsonl 'wiki/**/*.html' --index idx --prune
  latentsearch build exports/tickets.csv --index idx --id-field key --text-field summary --text-field body
  latentsearch build docs/ --index idx --include '*.md' --exclude drafts --acl group:eng
  latentsearch build photos/ notes/ --index idx --collection media --encoder clip
  latentsearch build docs/ --index idx --database postgresql+psycopg://me@localhost/search --json
"""


@handle_errors
def build_command(
    sources: Annotated[list[str], typer.Argument(help="Files, folders (read recursively) and globs (quote them).", show_default=False)],
    index: IndexOpt,
    collection: Annotated[str, typer.Option("--collection", "-c", envvar="LATENTSEARCH_COLLECTION", help="Collection to build (created if missing).")] = DEFAULT_COLLECTION,
    encoder: Annotated[str | None, typer.Option("--encoder", "-e", show_default=False, help="For a new collection: text (default, all-MiniLM-L6-v2), clip, or a model name or folder. For an existing one it must match.")] = None,
    database: DatabaseOpt = None,
    include: Annotated[list[str] | None, typer.Option("--include", show_default=False, help="Only files matching this glob (repeatable), e.g. '*.md'.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", show_default=False, help="Skip files or folders matching this glob (repeatable), e.g. drafts or 'archive/*'.")] = None,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", min=8, show_default=False, help="Tokens per chunk (default: what the encoder reads, 254 for the default model).")] = None,
    chunk_overlap: Annotated[int | None, typer.Option("--chunk-overlap", min=0, show_default=False, help="Tokens shared by consecutive chunks (default: chunk size / 8).")] = None,
    acl: Annotated[list[str] | None, typer.Option("--acl", show_default=False, help="Principal allowed to see documents that carry no ACL of their own (repeatable). Default: everyone ('*').")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents whose files are gone from the sources.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if any file or record failed.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (and no progress bar).")] = False,
    id_field: Annotated[str, typer.Option("--id-field", help="Record field holding the id (JSONL, JSON, CSV).")] = "id",
    text_field: Annotated[list[str] | None, typer.Option("--text-field", show_default=False, help="Record field holding the text (repeatable: joined by blank lines). Default: text.")] = None,
    max_file_size: Annotated[str, typer.Option("--max-file-size", help="Skip text, HTML, PDF and image files larger than this (record files stream and have no limit).")] = "64MB",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Items embedded and written per batch.")] = 128,
    force: Annotated[bool, typer.Option("--force", help="Read every file again, even unchanged ones (unchanged texts are still not re-embedded).")] = False,
    index_spec: Annotated[str, typer.Option("--index-type", help="For a new collection: FAISS factory string (Flat, HNSW32, IVF1024,Flat...) or auto.")] = "auto",
    device: DeviceOpt = "auto",
) -> None:
    """Index documents, record exports and images into a collection, incrementally.

    Files whose content is unchanged since the last build are skipped; changed files are read
    again and only changed texts are re-embedded. Unreadable files are skipped and listed with
    the reason. Supported: .txt .md .rst .html .htm .pdf .jsonl .json .csv, and images
    (.png .jpg .jpeg .webp .gif .bmp) in CLIP collections.
    """
    from latentsearch.cli.output import parse_size

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
    with open_index(index, database, device, create=True) as db:
        exists = any(c.name == collection for c in db.collections())
        if exists:  # opening it loads no model: a build with nothing to embed stays fast
            col = db.collection(collection, encoder=encoder)
        else:
            col = db.create_collection(collection, encoder=encoder or "text", index=index_spec)
        if json_out or not err.is_terminal:
            summary = build(db, col, options)
        else:
            with RichReporter() as reporter:
                summary = build(db, col, options, reporter)
    if json_out:
        print_json(summary.to_dict())
    else:
        print_summary(summary)
    if summary.indexed == 0 and summary.documents.removed == 0:
        fail("nothing could be indexed" + (f": {summary.failures[0]}" if summary.failures else "; no supported files in the sources"), EXIT_FAILED)
    if strict and summary.failed:
        fail(f"{summary.failed} file(s) or record(s) failed (--strict)", EXIT_FAILED)


class ItemsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        items = task.fields.get("items", 0)
        rate = items / task.elapsed if task.elapsed else 0.0
        return Text(f"{rate:,.1f} items/s", style="progress.data.speed")


class RichReporter:
    """Draws the build's progress on stderr: files, items encoded, items/s, ETA (by bytes)."""

    def __init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", style="bold"),
            BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[files]} files"),
            TextColumn("{task.fields[items]:,} items encoded"),
            ItemsPerSecond(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self.task = self.progress.add_task("scanning", total=None, done=0, files=0, items=0)
        self.done = 0
        self.items = 0

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def scanned(self, files: int) -> None:
        self.progress.update(self.task, files=files)

    def start(self, files: int, total_bytes: int) -> None:
        self.progress.update(self.task, description="indexing", total=max(total_bytes, 1), files=files)

    def file(self, name: str) -> None:
        self.done += 1
        self.progress.update(self.task, done=self.done)

    def advance(self, nbytes: int) -> None:
        self.progress.advance(self.task, nbytes)

    def encoded(self, items: int) -> None:
        self.items += items
        self.progress.update(self.task, items=self.items)


def print_summary(s: BuildSummary) -> None:
    table = Table(title=f"build of collection {s.collection!r}", title_justify="left")
    table.add_column("")
    for name in ("added", "updated", "unchanged", "removed", "failed", "skipped"):
        table.add_column(name, justify="right")
    d, f = s.documents, s.files
    table.add_row("documents", *map(str, (d.added, d.updated, d.unchanged, d.removed, d.failed)), "")
    table.add_row("files", *map(str, (f.added, f.updated, f.unchanged, f.removed, f.failed, f.skipped)))
    out.print(table)
    rate = s.items_encoded / s.elapsed_s if s.elapsed_s else 0.0
    out.print(f"{s.items_encoded:,} items encoded, {s.items_written:,} written, in {s.elapsed_s:.1f} s ({rate:,.1f} items/s)")
    if s.failures:
        out.print(f"[bold red]Not indexed ({s.failed}):[/bold red]")
        for p in s.failures[:LISTED]:
            out.print(f"  {p}", markup=False, highlight=False)
        if s.failed > LISTED:
            out.print(f"  … and {s.failed - LISTED} more (--json lists up to 1000)")
    if s.skipped:
        out.print(f"[dim]Skipped {s.files.skipped} file(s) of unsupported type (e.g. {Path(s.skipped[0].path).name}).[/dim]")
    if s.gone:
        out.print(f"[yellow]{s.gone} file(s) are gone from the sources but still indexed; rerun with --prune to remove them.[/yellow]")
