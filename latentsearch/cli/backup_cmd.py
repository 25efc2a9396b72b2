"""``latentsearch backup`` and ``latentsearch restore``: online snapshots of an index, and their
verified restore."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from latentsearch.cli.app import err, handle_errors, out
from latentsearch.cli.common import DatabaseOpt, IndexOpt, JsonOpt
from latentsearch.cli.output import human_bytes, print_json

if TYPE_CHECKING:
    from rich.progress import TaskID

BACKUP_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch backup --index idx --out idx-2026-12-01.tar
  latentsearch backup --index idx --out idx.tar.gz --json
  latentsearch backup --index idx --database postgresql+psycopg://me@db/search --out idx.tar

Writers may keep running. SQLite is copied with its online backup API; PostgreSQL with pg_dump (its client programs must be installed, same major version as the server) on one snapshot; the FAISS files are copied first and replay what they lag when restored. See docs/operations.md, "Backup and restore".
"""

RESTORE_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch restore --from idx-2026-12-01.tar --index idx-restored
  latentsearch restore --from idx.tar --index idx2 --database 'postgresql+psycopg://me@db/search?options=-csearch_path%3Drestored'
  latentsearch restore --from idx.tar --index idx --force --json

The target (folder, and schema for PostgreSQL) must be empty unless --force. The restore is then verified: item counts, a digest of ids, content hashes and ACLs, and the index equal to the store. Exit code 4 when anything does not match.
"""

OutOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        show_default=False,
        help="Archive file to write (a tar; .tar.gz compresses). Written under a temporary name, then renamed.",
    ),
]
FromOpt = Annotated[
    Path,
    typer.Option("--from", show_default=False, help="Archive written by latentsearch backup."),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace a non-empty index folder or database."),
]


@contextmanager
def _bar(enabled: bool) -> Iterator[object]:
    """A progress bar on stderr (phase, bytes or files done); nothing with --json."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def report(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=max(total, 1))
        progress.update(tasks[phase], completed=done, total=max(total, 1))

    with progress:
        yield report


@handle_errors
def backup_command(
    index: IndexOpt, out_file: OutOpt, database: DatabaseOpt = None, json_out: JsonOpt = False
) -> None:
    """Write a consistent snapshot of an index (store + FAISS files) to one archive, online."""
    from latentsearch.backup import backup

    with _bar(not json_out) as report:
        result = backup(index, out_file, database=database, progress=report)  # type: ignore[arg-type]
    if json_out:
        print_json(result.to_dict())
        return
    total = sum(c["count"] for c in result.collections.values())
    out.print(
        f"Backed up {len(result.collections)} collection(s), {total:,} item(s) "
        f"({result.dialect}) to {result.path} ({human_bytes(result.bytes)})."
    )


@handle_errors
def restore_command(
    archive: FromOpt,
    index: IndexOpt,
    database: DatabaseOpt = None,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Restore a backup into an empty index folder (and database), then verify it."""
    from latentsearch.restore import restore

    with _bar(not json_out) as report:
        result = restore(archive, index, database=database, force=force, progress=report)  # type: ignore[arg-type]
    if json_out:
        print_json(result.to_dict())
        return
    for name, c in sorted(result.collections.items()):
        out.print(f"  {name}: {c['count']:,} item(s), digest ok, index equal to the store")
    out.print(f"Restored and verified {len(result.collections)} collection(s) into {result.index}.")
