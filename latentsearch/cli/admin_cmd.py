"""``latentsearch info`` and ``latentsearch delete``: inspect and maintain an index."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from latentsearch.cli.app import handle_errors, out
from latentsearch.cli.common import (
    DEFAULT_COLLECTION,
    CollectionOpt,
    DatabaseOpt,
    IndexOpt,
    JsonOpt,
    open_collection,
    open_index,
    parse_where,
)
from latentsearch.cli.output import human_bytes, print_json
from latentsearch.errors import InvalidInputError

INFO_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch info --index idx
  latentsearch info --index idx --json | jq '.collections[].count'
  latentsearch info --index idx --database postgresql+psycopg://me@localhost/search
"""

DELETE_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch delete --index idx --id runbooks/old-vpn.md
  latentsearch delete --index idx --id TICKET-1 --id TICKET-2 --collection tickets
  latentsearch delete --index idx --where '{"status": "closed"}' --json

Deleting a document also deletes its chunks. A document whose file is still in the sources
comes back at the next build; delete or --exclude the file to keep it out.
"""


@handle_errors
def info_command(index: IndexOpt, database: DatabaseOpt = None, json_out: JsonOpt = False) -> None:
    """Show the collections of an index: encoder, counts, index type, size on disk, device, last build."""
    from latentsearch.ingest import state

    with open_index(index, database) as db:
        with db.store.session() as s:
            cols = []
            for c in db.collections():
                last = state.last_build(s, c.id)
                cols.append(
                    {
                        "name": c.name,
                        "encoder": c.encoder.to_dict() if c.encoder else None,
                        "dim": c.dim,
                        "metric": c.metric,
                        "index": c.index,
                        "index_tuning": _tuning(c.options, c.index),
                        "count": c.count,
                        "require_principals": c.require_principals,
                        "created": c.created,
                        "index_file_bytes": db.index_bytes(c.id),
                        "files": state.file_counts(s, c.id),
                        "last_build": _build(last),
                    }
                )
        report = {
            "index": str(db.path),
            "database": db.store.engine.url.render_as_string(hide_password=True),
            "dialect": db.store.dialect,
            "size_bytes": _folder_size(db.path),
            "device": _device(),
            "collections": cols,
        }
    if json_out:
        print_json(report)
    else:
        _print_info(report)


@handle_errors
def delete_command(
    index: IndexOpt,
    ids: Annotated[
        list[str] | None,
        typer.Option(
            "--id", show_default=False, help="Id of an item or document to delete (repeatable)."
        ),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where", "-w", show_default=False, help="Delete every item matching this JSON filter."
        ),
    ] = None,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    database: DatabaseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete items (and their chunks) by id or by filter."""
    if bool(ids) == (where is not None):
        raise InvalidInputError(
            "give --id ID (repeatable) or --where JSON, not both and not neither"
        )
    filt = parse_where(where)
    from latentsearch.ingest import state

    with open_index(index, database) as db:
        col = open_collection(db, collection)
        result = col.delete(list(ids)) if ids else col.delete(where=filt)
        with db.store.transaction() as s:
            forgotten = state.forget_missing(s, col.id)
    if json_out:
        print_json({"deleted": result.deleted, "documents_forgotten": forgotten})
    else:
        out.print(f"Deleted {result.deleted} item(s) from {collection!r}.")


def _build(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    summary = row.summary or {}
    keys = ("added", "updated", "unchanged", "removed", "failed", "items_encoded", "elapsed_s")
    return {
        "id": row.id,
        "status": row.status,
        "started": row.started,
        "finished": row.finished,
        "sources": row.sources,
        **{k: summary.get(k) for k in keys},
    }


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for f in files:
            with contextlib.suppress(OSError):  # a file removed while we walk
                total += os.path.getsize(os.path.join(root, f))
    return total


def _tuning(options: dict[str, Any], spec: str) -> dict[str, Any] | None:
    """How the index in use was chosen and tuned (None for exact indexes and untuned ones)."""
    t = options.get("tuning") or {}
    if t.get("spec") != spec:
        return None
    return {
        "reason": options.get("index_reason"),
        "param": t.get("param"),
        "value": t.get("value"),
        "recall": t.get("recall"),
        "recall_target": t.get("target"),
        "tuned_on": t.get("n"),
    }


def _device() -> dict[str, Any]:
    from latentsearch.device import faiss_num_gpus, resolve_device

    return {"encoder": resolve_device("auto", what="encoder"), "faiss_gpus": faiss_num_gpus()}


def _print_info(r: dict[str, Any]) -> None:
    out.print(f"[bold]index[/bold]     {r['index']}  ({human_bytes(r['size_bytes'])} on disk)")
    out.print(f"[bold]database[/bold]  {r['database']}")
    out.print(
        f"[bold]device[/bold]    encoder on {r['device']['encoder']}, {r['device']['faiss_gpus']} FAISS GPU(s)"
    )
    if not r["collections"]:
        out.print("[dim]No collections yet.[/dim]")
    for c in r["collections"]:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        enc = c["encoder"]
        grid.add_row(
            "encoder",
            f"{enc['model']} ({enc['kind']}, {c['dim']}-d, {c['metric']})"
            if enc
            else f"raw vectors ({c['dim']}-d, {c['metric']})",
        )
        grid.add_row("index", f"{c['index']}, {human_bytes(c['index_file_bytes'])}")
        t = c["index_tuning"]
        if t:
            grid.add_row(
                "tuning",
                f"{t['param']}={t['value']}: recall@10 {t['recall']:.3f} on held-out sample "
                f"queries (target {t['recall_target']}), tuned at {t['tuned_on']:,} vectors",
            )
        grid.add_row(
            "items",
            f"{c['count']:,}" + (" (principals required)" if c["require_principals"] else ""),
        )
        grid.add_row("files", ", ".join(f"{v} {k}" for k, v in c["files"].items() if v) or "-")
        b = c["last_build"]
        if b:
            when = b["finished"] or b["started"]
            grid.add_row(
                "last build",
                f"{b['status']} at {when:%Y-%m-%d %H:%M:%S} UTC: added {b['added']}, updated {b['updated']}, "
                f"unchanged {b['unchanged']}, removed {b['removed']}, failed {b['failed']}",
            )
        out.print(f"\n[bold cyan]collection {c['name']!r}[/bold cyan]")
        out.print(grid)
