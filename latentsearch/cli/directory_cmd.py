"""``latentsearch directory sync|status|users|forget``: users and groups synced from LDAP or a
groups file, which directory API keys read their groups from at request time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentsearch.cli.app import err, handle_errors, out
from latentsearch.cli.common import DatabaseOpt, IndexOpt, JsonOpt, open_index
from latentsearch.cli.output import print_json
from latentsearch.errors import InvalidInputError

if TYPE_CHECKING:
    from latentsearch.directory import DirectorySource, SyncResult

SYNC_EXAMPLES = """
[bold]Examples[/bold]

  export LATENTSEARCH_LDAP_PASSWORD=...   # the bind password: from the environment only
  latentsearch directory sync --index idx --ldap-url ldap://ldap.example.com --base-dn dc=example,dc=com --bind-dn cn=reader,dc=example,dc=com
  latentsearch directory sync --index idx --ldap-url ldaps://ldap.example.com --base-dn dc=example,dc=com --disabled-filter '(employeeType=disabled)' --json
  latentsearch directory sync --index idx --groups-file groups.csv
  latentsearch directory sync --index idx --config sources.toml

A sync replaces what that source said before, in one transaction: a source that fails leaves the previous users and groups in place (see `directory status`). Keys made for a user take the user's groups from here at each request; see docs/directory.md.
"""

STATUS_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch directory status --index idx
  latentsearch directory status --index idx --json
"""

USERS_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch directory users --index idx
  latentsearch directory users --index idx --group eng --json

Groups include those reached through nested groups.
"""

FORGET_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch directory forget old-ldap --index idx

The source's users, groups and memberships are removed; directory keys of users no other source lists are refused from then on.
"""

directory_app = typer.Typer(
    help="Sync users and groups from LDAP or a groups file; directory keys read their groups from it.",
    no_args_is_help=True,
)


def _opt(help_text: str, flag: str) -> Any:
    return typer.Option(flag, show_default=False, help=help_text, rich_help_panel="LDAP")


@directory_app.command("sync", epilog=SYNC_EXAMPLES)
@handle_errors
def sync_command(
    index: IndexOpt,
    database: DatabaseOpt = None,
    ldap_url: Annotated[
        str | None, _opt("LDAP server, ldap://host or ldaps://host.", "--ldap-url")
    ] = None,
    base_dn: Annotated[
        str | None, _opt("Search base, e.g. dc=example,dc=com.", "--base-dn")
    ] = None,
    bind_dn: Annotated[
        str | None, _opt("Bind as this DN (anonymous when absent).", "--bind-dn")
    ] = None,
    password_env: Annotated[
        str, _opt("Environment variable holding the bind password.", "--password-env")
    ] = "LATENTSEARCH_LDAP_PASSWORD",
    start_tls: Annotated[
        bool,
        typer.Option("--start-tls", help="Upgrade ldap:// with StartTLS.", rich_help_panel="LDAP"),
    ] = False,
    user_base: Annotated[
        str | None, _opt("Users' base DN (default: --base-dn).", "--user-base")
    ] = None,
    user_filter: Annotated[
        str | None, _opt("Users: default (objectClass=inetOrgPerson).", "--user-filter")
    ] = None,
    user_attribute: Annotated[
        str | None, _opt("The user name attribute: default uid.", "--user-attribute")
    ] = None,
    display_attribute: Annotated[
        str | None, _opt("Display name attribute: default cn.", "--display-attribute")
    ] = None,
    disabled_filter: Annotated[
        str | None, _opt("Users matching this are disabled.", "--disabled-filter")
    ] = None,
    group_base: Annotated[
        str | None, _opt("Groups' base DN (default: --base-dn).", "--group-base")
    ] = None,
    group_filter: Annotated[
        str | None, _opt("Groups: default (objectClass=groupOfNames).", "--group-filter")
    ] = None,
    group_attribute: Annotated[
        str | None, _opt("The group name attribute: default cn.", "--group-attribute")
    ] = None,
    member_attribute: Annotated[
        str | None, _opt("The member attribute: default member.", "--member-attribute")
    ] = None,
    groups_file: Annotated[
        Path | None,
        typer.Option(
            "--groups-file",
            show_default=False,
            help="A CSV file of user,group rows, or a JSON object of group: list of members.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            show_default=False,
            help="Sync every directory table of this TOML file (docs/directory.md).",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            show_default=False,
            help="Name of the source (default: ldap or groups-file).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sync users and groups from LDAP, a groups file, or the directory tables of a TOML file."""
    from latentsearch.directory import file_source, ldap_source, sources_from_toml, sync

    given = [ldap_url is not None, groups_file is not None, config is not None]
    if sum(given) != 1:
        raise InvalidInputError(
            "give exactly one of --ldap-url (with --base-dn), --groups-file or --config"
        )
    ldap_only = {
        "--base-dn": base_dn,
        "--bind-dn": bind_dn,
        "--start-tls": start_tls or None,
        "--user-base": user_base,
        "--user-filter": user_filter,
        "--user-attribute": user_attribute,
        "--display-attribute": display_attribute,
        "--disabled-filter": disabled_filter,
        "--group-base": group_base,
        "--group-filter": group_filter,
        "--group-attribute": group_attribute,
        "--member-attribute": member_attribute,
    }
    stray = [flag for flag, value in ldap_only.items() if value is not None]
    if ldap_url is None and stray:
        raise InvalidInputError(
            f"{', '.join(stray)} only apply with --ldap-url (put LDAP settings of a --config "
            "file in its [[directory]] table)"
        )
    sources: list[DirectorySource]
    if config is not None:
        sources = sources_from_toml(config)
        if source is not None:
            sources = [s for s in sources if s.name == source]
            if not sources:
                raise InvalidInputError(f"{config} has no [[directory]] named {source!r}")
    elif groups_file is not None:
        sources = [file_source(groups_file, source or "groups-file")]
    else:
        if base_dn is None:
            raise InvalidInputError("--ldap-url needs --base-dn, e.g. --base-dn dc=example,dc=com")
        optional = {
            "user_base": user_base,
            "user_filter": user_filter,
            "user_attribute": user_attribute,
            "display_attribute": display_attribute,
            "disabled_filter": disabled_filter,
            "group_base": group_base,
            "group_filter": group_filter,
            "group_attribute": group_attribute,
            "member_attribute": member_attribute,
        }
        settings = {k: v for k, v in optional.items() if v is not None}
        sources = [
            ldap_source(
                source or "ldap",
                url=ldap_url,
                base_dn=base_dn,
                bind_dn=bind_dn,
                password_env=password_env,
                start_tls=start_tls,
                **settings,
            )
        ]
    results: list[SyncResult] = []
    with open_index(index, database, device="cpu") as db:
        for src in sources:
            if as_json:
                results.append(sync(db, src))
                continue
            with err.status(f"syncing {src.name} from {src.location}"):
                results.append(sync(db, src))
    if as_json:
        print_json([_result(r) for r in results])
        return
    for r in results:
        out.print(
            f"{r.source}: {r.users} users ({r.disabled} disabled), {r.groups} groups, "
            f"{r.memberships} memberships",
            highlight=False,
        )
        for note in r.skipped[:20]:
            err.print(f"  skipped: {note}", highlight=False, markup=False)
        if len(r.skipped) > 20:
            err.print(f"  ... and {len(r.skipped) - 20} more skipped (see --json)")


@directory_app.command("status", epilog=STATUS_EXAMPLES)
@handle_errors
def status_command(index: IndexOpt, database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Each directory source: when it last synced, its counts, and its last error."""
    from rich.markup import escape

    from latentsearch.directory import sources

    with open_index(index, database, device="cpu") as db:
        rows = sources(db)
    if as_json:
        print_json([r.as_json() for r in rows])
        return
    if not rows:
        out.print(
            "no directory source yet; add one with: latentsearch directory sync --index ... --groups-file FILE"
        )
        return
    for r in rows:
        out.print(f"[bold]{escape(r.name)}[/bold] ({r.kind}: {escape(r.location or '')})")
        if r.synced:
            out.print(
                f"  synced {r.synced:%Y-%m-%d %H:%M:%S} UTC: {r.users} users, {r.groups} groups, "
                f"{r.memberships} memberships",
                highlight=False,
            )
        else:
            out.print("  never synced")
        if r.error and r.failed:
            out.print(
                f"  [red]last sync failed {r.failed:%Y-%m-%d %H:%M:%S} UTC:[/red] {escape(r.error)}",
                highlight=False,
            )


@directory_app.command("users", epilog=USERS_EXAMPLES)
@handle_errors
def users_command(
    index: IndexOpt,
    database: DatabaseOpt = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group", "-g", show_default=False, help="Only this group's members (nested included)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The directory's users with their groups (nested groups resolved) and disabled flags."""
    from rich.table import Column, Table

    from latentsearch.directory import accounts

    with open_index(index, database, device="cpu") as db:
        rows = accounts(db, group=group)
    if as_json:
        print_json(
            [
                {
                    "user": a.name,
                    "display_name": a.display_name,
                    "disabled": a.disabled,
                    "groups": list(a.groups),
                    "sources": list(a.sources),
                }
                for a in rows
            ]
        )
        return
    table = Table(Column("user", no_wrap=True), "name", "groups", "disabled", "sources")
    for a in rows:
        table.add_row(
            a.name,
            a.display_name or "",
            ", ".join(a.groups),
            "yes" if a.disabled else "",
            ", ".join(a.sources),
        )
    out.print(table)


@directory_app.command("forget", epilog=FORGET_EXAMPLES)
@handle_errors
def forget_command(
    source: Annotated[
        str, typer.Argument(help="The source's name, as `directory status` shows it.")
    ],
    index: IndexOpt,
    database: DatabaseOpt = None,
) -> None:
    """Remove a directory source and everything it synced."""
    from latentsearch.directory import forget
    from latentsearch.errors import NotFoundError

    with open_index(index, database, device="cpu") as db:
        if not forget(db, source):
            raise NotFoundError(
                f"no directory source {source!r}; see `latentsearch directory status`"
            )
    err.print(f"forgot directory source {source}")


def _result(r: SyncResult) -> dict[str, Any]:
    return {
        "source": r.source,
        "users": r.users,
        "disabled": r.disabled,
        "groups": r.groups,
        "memberships": r.memberships,
        "skipped": list(r.skipped),
    }
