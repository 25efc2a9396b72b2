"""``latentsearch serve`` and ``latentsearch keys create|list|revoke``.

The main CLI registers these with one line: ``register(app)``. This module imports no more than
the CLI itself does: FastAPI and uvicorn (the ``server`` extra) are imported by ``serve`` alone,
which says what to install when they are missing, and the store by the commands that open it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from latentsearch.errors import LatentSearchError, MissingExtraError

if TYPE_CHECKING:
    from latentsearch import Database
    from latentsearch.server import keystore

console = Console()
err = Console(stderr=True)

IndexOpt = Annotated[
    Path, typer.Option("--index", "-i", help="Index folder (FAISS files; SQLite store by default).")
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        envvar="LATENTSEARCH_DATABASE",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

keys_app = typer.Typer(
    help="Manage API keys (stored hashed; each is a user, a role, and groups frozen in the key or "
    "read from the synced directory).",
    no_args_is_help=True,
)


def serve(
    index: IndexOpt = Path("indexes/default"),
    database: DatabaseOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (PostgreSQL only when > 1).")
    ] = 1,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="Allow this browser origin (repeatable). CORS is off by default."
        ),
    ] = None,
    max_body_bytes: Annotated[
        int, typer.Option(min=1024, help="Largest request body accepted (413 beyond).")
    ] = 16 << 20,
    device: Annotated[
        str, typer.Option(help="auto, cpu or cuda: where encoders and indexes run.")
    ] = "auto",
    warm: Annotated[
        bool, typer.Option(help="Load every collection's encoder before accepting requests.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    directory_ttl: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds a directory user's groups are cached (0: read them on every request).",
        ),
    ] = 30.0,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            envvar="LATENTSEARCH_CLUSTER",
            show_default=False,
            help="Serve sharded collections from this Ray cluster: auto (RAY_ADDRESS or a local "
            "`ray start`), HOST:6379 or ray://HOST:10001. Needs --database postgresql+psycopg://...",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API, OpenAPI docs at /docs and the search page at /.

    Example: latentsearch serve --index indexes/demo --port 8080
    Example: latentsearch serve --index /srv/ls --database postgresql+psycopg://ls@db/ls --workers 4
    Example: latentsearch serve --index /srv/ls --database postgresql+psycopg://ls@db/ls --cluster auto
    """
    try:
        require_server_extra("latentsearch serve")
    except MissingExtraError as exc:
        from rich.markup import escape

        err.print(
            f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    import uvicorn

    from latentsearch import connect
    from latentsearch.server.state import Settings

    if workers > 1 and not (database or "").startswith("postgresql"):
        err.print(
            "[red]--workers > 1 needs --database postgresql+psycopg://...; SQLite serves one process.[/red]"
        )
        raise typer.Exit(2)
    if cluster and not (database or "").startswith("postgresql"):
        err.print(
            "[red]--cluster needs --database postgresql+psycopg://...: every node reads the same "
            "rows and vectors.[/red]"
        )
        raise typer.Exit(2)
    settings = Settings(
        index=index.resolve(),
        database=database,
        device=device,
        cors_origins=tuple(cors_origin or ()),
        max_body_bytes=max_body_bytes,
        warm=warm,
        directory_ttl=directory_ttl,
        cluster=cluster,
    )
    try:
        # Migrate once, before workers; with --cluster, also fail here (not in every worker)
        # when the Ray cluster cannot be reached.
        connect(settings.index, database=database, device="cpu", cluster=cluster).close()
    except LatentSearchError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    os.environ.update(settings.to_env())
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="latentsearch-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "latentsearch.server.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            timeout_graceful_shutdown=10,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="The user this key acts as (principal user:<name>).")],
    index: IndexOpt = Path("indexes/default"),
    database: DatabaseOpt = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            "-g",
            help="A group frozen into the key (principal group:<name>); repeatable.",
        ),
    ] = None,
    directory: Annotated[
        bool | None,
        typer.Option(
            "--directory/--no-directory",
            show_default=False,
            help="Take the user's groups from the synced directory at each request (the default "
            "once a directory source has synced and no --group is given).",
        ),
    ] = None,
    role: Annotated[str, typer.Option(help="reader, writer or admin.")] = "reader",
    note: Annotated[str | None, typer.Option(help="A note to tell keys apart.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print it once (only its hash is stored).

    Example: latentsearch keys create --index indexes/demo --user alice   (groups from the directory)
    Example: latentsearch keys create --index indexes/demo --user alice --group eng --role reader
    Example: latentsearch keys create --index indexes/demo --user ci --no-directory --role writer
    """
    from latentsearch.server import keystore

    try:
        with _store(index, database) as db:
            groups_from = _groups_from(db, user, group or [], directory)
            with db.store.transaction() as s:
                new = keystore.create_key(s, user, group or [], role, note, groups_from=groups_from)
    except LatentSearchError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if as_json:
        console.print_json(json.dumps({"key": new.key, **_info(new.info)}))
    else:
        console.print(new.key, soft_wrap=True, highlight=False)
        who = (
            f"user:{user} with its directory groups"
            if groups_from == "directory"
            else ", ".join(new.info.principals)
        )
        err.print(
            f"created {new.info.role} key {new.info.key_id} for {who}; store it now, it is not shown again"
        )


def _groups_from(db: Database, user: str, groups: list[str], directory: bool | None) -> str:
    """ "directory" or "key" for a new key (see docs/directory.md, "Keys")."""
    from latentsearch.directory import in_use, lookup
    from latentsearch.errors import InvalidInputError

    if directory is None:
        directory = not groups and in_use(db)
    if not directory:
        return "key"
    if groups:
        raise InvalidInputError(
            "--group freezes groups into the key; a --directory key takes them from the directory"
        )
    account = lookup(db, user)
    if account is None or account.disabled:
        state = "is disabled in" if account else "is not in"
        raise InvalidInputError(
            f"user {user!r} {state} the synced directory (see `latentsearch directory users`); "
            "sync it first, or give --group/--no-directory for a key with fixed groups"
        )
    return "directory"


@keys_app.command("list")
def keys_list(
    index: IndexOpt = Path("indexes/default"),
    database: DatabaseOpt = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List keys (ids, users, groups, roles; never the keys).

    Example: latentsearch keys list --index indexes/demo --json
    """
    from latentsearch.server import keystore

    with _store(index, database) as db, db.store.session() as s:
        infos = keystore.list_keys(s, include_revoked=all_keys)
    if as_json:
        console.print_json(json.dumps([_info(i) for i in infos]))
        return
    table = Table("key id", "user", "groups", "role", "created", "revoked", "note")
    for i in infos:
        table.add_row(
            i.key_id,
            i.user,
            "(directory)" if i.groups_from == "directory" else ", ".join(i.groups),
            i.role,
            f"{i.created:%Y-%m-%d %H:%M}",
            f"{i.revoked:%Y-%m-%d %H:%M}" if i.revoked else "",
            i.note or "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[
        str, typer.Argument(help="The key id shown by `keys list` (or the key itself).")
    ],
    index: IndexOpt = Path("indexes/default"),
    database: DatabaseOpt = None,
) -> None:
    """Revoke a key: requests with it get 401 from then on.

    Example: latentsearch keys revoke 3f9a1c2b7d10 --index indexes/demo
    """
    from latentsearch.server import keystore

    try:
        with _store(index, database) as db, db.store.transaction() as s:
            info = keystore.revoke_key(s, key_id)
    except LatentSearchError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    err.print(f"revoked key {info.key_id} ({info.user})")


def require_server_extra(command: str) -> None:
    """Import what serving needs, or raise `MissingExtraError` naming the extra to install."""
    missing = []
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(
            f"{command} needs the server extra, and {' and '.join(missing)} cannot be imported "
            "here; install it with: pip install 'latentsearch[server]'"
        )


def _store(index: Path, database: str | None) -> Database:
    from latentsearch import connect

    try:
        return connect(index, database=database, device="cpu")
    except LatentSearchError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _info(i: keystore.KeyInfo) -> dict[str, object]:
    return {
        "key_id": i.key_id,
        "user": i.user,
        "groups": list(i.groups),
        "groups_from": i.groups_from,
        "role": i.role,
        "note": i.note,
        "created": i.created.isoformat(),
        "revoked": i.revoked.isoformat() if i.revoked else None,
    }


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the main ``latentsearch`` CLI."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


# Stand-alone use before (or without) the main CLI: python -m latentsearch.server.cli ...
standalone = typer.Typer(no_args_is_help=True, help="latentsearch server commands")
register(standalone)

if __name__ == "__main__":
    standalone()
