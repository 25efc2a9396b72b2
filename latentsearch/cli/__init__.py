"""The ``latentsearch`` command: build, search, query, analogy, answer, map, clusters, sample, axis, info,
delete, eval, backup, restore, sync, sources, serve, keys, mcp, directory, cluster.

Each command is a function in its own module; this module registers them on `app`, in the
order ``--help`` lists them. Add new commands the same way.
"""

from __future__ import annotations

from latentsearch.cli import (
    admin_cmd,
    answer_cmd,
    backup_cmd,
    build_cmd,
    cluster_cmd,
    directory_cmd,
    eval_cmd,
    explore_cmd,
    map_cmd,
    mcp_cmd,
    search_cmd,
    sync_cmd,
)
from latentsearch.cli.app import app
from latentsearch.server.cli import register as register_server

__all__ = ["app", "main"]

app.command("build", epilog=build_cmd.EXAMPLES)(build_cmd.build_command)
app.command("search", epilog=search_cmd.SEARCH_EXAMPLES)(search_cmd.search_command)
app.command("query", epilog=search_cmd.QUERY_EXAMPLES)(search_cmd.query_command)
app.command("analogy", epilog=search_cmd.ANALOGY_EXAMPLES)(search_cmd.analogy_command)
app.command("answer", epilog=answer_cmd.EXAMPLES)(answer_cmd.answer_command)
app.command("map", epilog=map_cmd.EXAMPLES)(map_cmd.map_command)
app.command("clusters", epilog=explore_cmd.CLUSTERS_EXAMPLES)(explore_cmd.clusters_command)
app.command("sample", epilog=explore_cmd.SAMPLE_EXAMPLES)(explore_cmd.sample_command)
app.command("axis", epilog=explore_cmd.AXIS_EXAMPLES)(explore_cmd.axis_command)
app.command("info", epilog=admin_cmd.INFO_EXAMPLES)(admin_cmd.info_command)
app.command("delete", epilog=admin_cmd.DELETE_EXAMPLES)(admin_cmd.delete_command)
app.command("eval", epilog=eval_cmd.EXAMPLES)(eval_cmd.eval_command)
app.command("backup", epilog=backup_cmd.BACKUP_EXAMPLES)(backup_cmd.backup_command)
app.command("restore", epilog=backup_cmd.RESTORE_EXAMPLES)(backup_cmd.restore_command)
app.command("sync", epilog=sync_cmd.SYNC_EXAMPLES)(sync_cmd.sync_command)
app.add_typer(sync_cmd.sources_app, name="sources")
register_server(app)  # serve, keys create|list|revoke
app.command("mcp", epilog=mcp_cmd.EXAMPLES)(mcp_cmd.mcp_command)
app.add_typer(directory_cmd.directory_app, name="directory")  # sync|status|users|forget
app.add_typer(cluster_cmd.cluster_app, name="cluster")  # status


def main() -> None:
    """Entry point of the ``latentsearch`` console script and ``python -m latentsearch``."""
    app(prog_name="latentsearch")
