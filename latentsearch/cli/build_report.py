"""The build's progress bar (files, items encoded, items/s, ETA) and its summary table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
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

from latentsearch.cli.app import err, out
from latentsearch.ingest.report import BuildSummary

LISTED = 20


class ItemsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        items = task.fields.get("items", 0)
        rate = items / task.elapsed if task.elapsed else 0.0
        return Text(f"{rate:,.1f} items/s", style="progress.data.speed")


class RichReporter:
    """Draws the build's progress on stderr: files, items encoded, items/s, ETA (by bytes)."""

    def __init__(self, console: Console | None = None) -> None:
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
            console=console or err,
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
        self.progress.update(
            self.task, description="indexing", total=max(total_bytes, 1), files=files
        )

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
    table.add_row(
        "documents", *map(str, (d.added, d.updated, d.unchanged, d.removed, d.failed)), ""
    )
    table.add_row(
        "files", *map(str, (f.added, f.updated, f.unchanged, f.removed, f.failed, f.skipped))
    )
    out.print(table)
    rate = s.items_encoded / s.elapsed_s if s.elapsed_s else 0.0
    out.print(
        f"{s.items_encoded:,} items encoded, {s.items_written:,} written, in {s.elapsed_s:.1f} s ({rate:,.1f} items/s)"
    )
    if s.failures:
        out.print(f"[bold red]Not indexed ({s.failed}):[/bold red]")
        for p in s.failures[:LISTED]:
            out.print(f"  {p}", markup=False, highlight=False)
        if s.failed > LISTED:
            out.print(f"  … and {s.failed - LISTED} more (--json lists up to 1000)")
    if s.skipped:
        out.print(
            f"[dim]Skipped {s.files.skipped} file(s) of unsupported type (e.g. {Path(s.skipped[0].path).name}).[/dim]"
        )
    if s.gone:
        out.print(
            f"[yellow]{s.gone} file(s) are gone from the sources but still indexed; rerun with --prune to remove them.[/yellow]"
        )
