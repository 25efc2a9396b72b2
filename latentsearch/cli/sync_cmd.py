"""``latentsearch sync`` (run the due sources of a sources.toml) and ``latentsearch sources status``.

Imports no connector, store or model at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentsearch.cli.app import EXIT_FAILED, err, fail, handle_errors, out
from latentsearch.cli.common import DatabaseOpt, DeviceOpt, IndexOpt, JsonOpt, open_index
from latentsearch.cli.output import print_json

if TYPE_CHECKING:
    from latentsearch.connectors.config import SourceConfig
    from latentsearch.connectors.runner import SyncResult

SYNC_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch sync sources.toml --index idx
  latentsearch sync sources.toml --index idx --source tickets
  latentsearch sync sources.toml --index idx --force --json
  CRM_PASSWORD=... latentsearch sync sources.toml --index idx --watch
  latentsearch sync sources.toml --index idx --database postgresql+psycopg://me@localhost/search
"""

STATUS_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch sources status sources.toml --index idx
  latentsearch sources status sources.toml --index idx --json
"""

SourcesFileArg = Annotated[
    Path, typer.Argument(help="The sources.toml naming the sources.", show_default=False)
]

sources_app = typer.Typer(
    help="Inspect the sources of a sources.toml (see docs/sources.md).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@handle_errors
def sync_command(
    sources_file: SourcesFileArg,
    index: IndexOpt,
    database: DatabaseOpt = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", "-s", show_default=False, help="Run only this source, due or not."
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Keep running: sync each source whenever its schedule says."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run every source now, due or not.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any source or record failed.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the results as JSON (and no progress bar).")
    ] = False,
    device: DeviceOpt = "auto",
) -> None:
    """Bring collections up to date with the sources of a sources.toml.

    Runs every due source once (a source that never ran is due). Each source is incremental:
    its cursor is stored in the index's database, unchanged records cost no encoding, records
    deleted at the source (or whose permissions were removed) leave the index, a failing record
    is reported and skipped, and a run that is stopped resumes where it left off.
    """
    from latentsearch.connectors import jobs
    from latentsearch.connectors.config import load_sources

    sources = load_sources(sources_file)
    if source is not None:
        sources.get(source)  # an unknown name fails before the index is opened
    with open_index(index, database, device, create=True) as db:
        if watch:
            err.print(
                f"Watching {len(sources.sources)} source(s); Ctrl-C to stop.", highlight=False
            )
            jobs.watch(db, sources, only=source, on_result=_print_one)
            return
        bars = _bars(enabled=not json_out and err.is_terminal)
        with bars as progress:
            results = jobs.run_sources(db, sources, only=source, force=force, progress=progress)
    if json_out:
        print_json([r.to_dict() for r in results])
    else:
        if not results:
            out.print("Nothing is due; use --force or --source NAME to run now.")
        for r in results:
            _print_one(r)
    failed = [r for r in results if r.status != "done" or r.failed]
    if any(r.status == "failed" for r in results) or (strict and failed):
        names = ", ".join(r.source for r in failed)
        fail(f"{len(failed)} source(s) had failures: {names}", EXIT_FAILED)


@sources_app.command("status", epilog=STATUS_EXAMPLES)
@handle_errors
def status_command(
    sources_file: SourcesFileArg,
    index: IndexOpt,
    database: DatabaseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show each source's cursor, last run, counts, errors and when it is next due."""
    from latentsearch.connectors import state
    from latentsearch.connectors.config import load_sources
    from latentsearch.connectors.jobs import next_runs

    sources = load_sources(sources_file)
    with open_index(index, database, "cpu") as db:
        with db.store.session() as s:
            known = state.states(s, [src.name for src in sources.sources])
        upcoming = next_runs(db, sources)
    rows: list[dict[str, Any]] = []
    for src in sources.sources:
        st = known.get(src.name)
        nxt = upcoming[src.name]
        base = st.to_dict() if st else {"name": src.name, "status": "never", "records": 0}
        base.update(
            type=src.type,
            collection=src.collection,
            schedule=src.schedule,
            next_run=nxt.isoformat() if nxt else "now",
        )
        rows.append(base)
    if json_out:
        print_json(rows)
        return
    for r in rows:
        counts = r.get("counts") or {}
        shown = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if k != "elapsed_s" and v
        )
        out.print(
            f"[bold]{r['name']}[/bold] ({r['type']} -> {r['collection']}, schedule {r['schedule']})",
            highlight=False,
        )
        last = (r.get("started") or "never")[:19].replace("T", " ")
        out.print(f"  status   {r['status']}, last run {last}", highlight=False)
        out.print(f"  records  {r['records']}{f' (last run: {shown})' if shown else ''}")
        out.print(f"  cursor   {_short(r.get('cursor'))}", highlight=False)
        out.print(f"  next     {r['next_run'][:19].replace('T', ' ')}", highlight=False)
        for e in r.get("errors") or []:
            what = f"{e['id']}: " if e.get("id") else ""
            out.print(f"  [red]error[/red]    {what}{e['reason']}", highlight=False)


def _short(cursor: str | None) -> str:
    if not cursor:
        return "-"
    return cursor if len(cursor) <= 40 else cursor[:37] + "..."


def _print_one(r: SyncResult) -> None:
    colour = {"done": "green", "failed": "red"}.get(r.status, "yellow")
    out.print(
        f"[bold]{r.source}[/bold] [{colour}]{r.status}[/{colour}]: {r.added} added, "
        f"{r.updated} updated, {r.unchanged} unchanged, {r.deleted} deleted, {r.failed} failed "
        f"({r.items_written} items written, {r.elapsed_s:.1f}s)",
        highlight=False,
    )
    for e in r.errors[:20]:
        what = f"{e['id']}: " if e["id"] else ""
        out.print(f"  [red]error[/red] {what}{e['reason']}", highlight=False)
    if len(r.errors) > 20:
        out.print(f"  ... and {len(r.errors) - 20} more (latentsearch sources status)")


ProgressFor = Callable[["SourceConfig"], Callable[[str, int], None] | None]


@contextmanager
def _bars(enabled: bool) -> Iterator[ProgressFor | None]:
    """A rich progress line per source (records handled, by kind) when stderr is a terminal."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} records"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )

    def for_source(src: SourceConfig) -> Callable[[str, int], None]:
        task = bars.add_task(src.name, total=None, detail="")
        seen: dict[str, int] = {}

        def tick(kind: str, n: int) -> None:
            seen[kind] = seen.get(kind, 0) + n
            detail = ", ".join(f"{v:,} {k}" for k, v in seen.items())
            bars.update(task, advance=n, detail=detail)

        return tick

    with bars:
        yield for_source
