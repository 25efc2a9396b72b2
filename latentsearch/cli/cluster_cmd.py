"""``latentsearch cluster status``: the Ray nodes and the shard actors that serve an index.

Read-only: it connects to the cluster as one more driver, asks every shard replica of every
collection for its state (`Database.cluster_status`) and prints it. Ray is imported by the
connection, not here (``--help`` stays fast and works without the ``distributed`` extra).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from latentsearch.cli.app import handle_errors, out
from latentsearch.cli.common import DatabaseOpt, IndexOpt, JsonOpt
from latentsearch.cli.output import print_json
from latentsearch.errors import InvalidInputError

if TYPE_CHECKING:
    from latentsearch.results import ClusterStatus

STATUS_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch cluster status --index /srv/ls --database postgresql+psycopg://ls@db/ls
  latentsearch cluster status --index /srv/ls --database $PG --cluster ray://head:10001
  latentsearch cluster status --index /srv/ls --database $PG --json | jq '.replicas[] | select(.alive | not)'

A replica that is not alive is being restarted by Ray (it reloads its shard file and replays
the writes it missed), or it was stopped for good (restarting a front server, or col.heal(),
starts it again). Its shard still answers while another replica lives.
"""

ClusterOpt = Annotated[
    str,
    typer.Option(
        "--cluster",
        envvar="LATENTSEARCH_CLUSTER",
        help="The Ray cluster: auto (RAY_ADDRESS, or the `ray start` on this machine), "
        "HOST:6379 or ray://HOST:10001.",
    ),
]

cluster_app = typer.Typer(
    help="Inspect the Ray cluster that serves sharded collections (see docs/deployment.md).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@cluster_app.command("status", epilog=STATUS_EXAMPLES)
@handle_errors
def status_command(
    index: IndexOpt,
    database: DatabaseOpt = None,
    cluster: ClusterOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Show the cluster's nodes and every shard replica: node, process id, seq and vectors held."""
    from latentsearch import connect

    if not (database or "").startswith("postgresql"):
        raise InvalidInputError(
            "a cluster serves an index from a shared database: give "
            "--database postgresql+psycopg://USER@HOST/DB (the one the cluster was built with)"
        )
    with connect(index, database=database, cluster=cluster, device="cpu") as db:
        status = db.cluster_status()
    if json_out:
        print_json(dataclasses.asdict(status))
        return
    _print(status)


def _print(status: ClusterStatus) -> None:
    nodes = Table(title=f"Ray cluster {status.address}", title_justify="left")
    for col in ("node", "address", "alive", "CPUs", "GPUs"):
        nodes.add_column(col, justify="right" if col in ("CPUs", "GPUs") else "left")
    for n in status.nodes:
        nodes.add_row(n.node_id[:12], n.address, _alive(n.alive), f"{n.cpus:g}", f"{n.gpus:g}")
    out.print(nodes)
    shards = Table(title="Shard replicas", title_justify="left")
    for col in ("collection", "shard", "replica", "node", "pid", "alive", "seq", "vectors"):
        shards.add_column(
            col, justify="right" if col in ("shard", "replica", "pid", "seq", "vectors") else "left"
        )
    for r in sorted(status.replicas, key=lambda r: (r.collection, r.shard, r.replica)):
        shards.add_row(
            r.collection,
            str(r.shard),
            str(r.replica),
            (r.node or "-")[:12],
            _opt(r.pid),
            _alive(r.alive),
            _opt(r.seq),
            _opt(r.vectors),
        )
    out.print(shards)
    if not status.replicas:
        out.print("No sharded collection: create one with shards= (or build with --shards).")


def _alive(alive: bool) -> str:
    return "[green]yes[/green]" if alive else "[red]no[/red]"


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)
