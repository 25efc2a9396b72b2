"""``latentsearch clusters``, ``sample`` and ``axis``: the latent-space explorer as tables or JSON."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from latentsearch.cli.app import handle_errors, out
from latentsearch.cli.common import (
    DEFAULT_COLLECTION,
    CollectionOpt,
    DatabaseOpt,
    DeviceOpt,
    IndexOpt,
    JsonOpt,
    PrincipalOpt,
    WhereOpt,
    open_index,
    parse_term,
    parse_where,
    principals,
)
from latentsearch.cli.map_cmd import LevelOpt, SeedOpt
from latentsearch.cli.output import SNIPPET, print_json
from latentsearch.cli.query_vectors import open_for_queries

CLUSTERS_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch clusters --index idx                       [dim]# k chosen by silhouette[/dim]
  latentsearch clusters --index idx -k 8 --where '{"team": "eng"}' -p group:eng
  latentsearch clusters --index idx --collection shapes --json

Each cluster is labelled by the terms that set its texts apart (class-based TF-IDF), or by its
medoid's title for images; sizes, medoids and labels count only the items you may see.
"""

SAMPLE_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch sample 5 --index idx --around "vpn outage"
  latentsearch sample 10 --index idx --around @TICKET-101 --spread 2   [dim]# more surprising[/dim]
  latentsearch sample 8 --index idx --collection shapes --around "a red circle" --seed 1 --json
  latentsearch sample 5 --index idx --where '{"team": "billing"}' --spread 0.5

Fits a Gaussian to the region (the neighbourhood of --around, else the --where set), draws
points from it and decodes each to its nearest visible item, without repeats.
"""

AXIS_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch axis "formal tone" "casual chat" --index idx
  latentsearch axis red blue --index idx --collection shapes --json
  latentsearch axis @TICKET-101 @TICKET-105 --index idx --limit 5 -p group:support

Every visible item gets a coordinate from the NEGATIVE pole (0) to the POSITIVE pole (1).
A pole is text, @ITEM-ID, or image:PATH in a CLIP collection.
"""


@handle_errors
def clusters_command(
    index: IndexOpt,
    k: Annotated[
        int | None,
        typer.Option(
            "-k", "--k", min=1, show_default=False, help="Number of clusters (default: chosen)."
        ),
    ] = None,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    seed: SeedOpt = 0,
    level: LevelOpt = "chunk",
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Group the visible items by meaning and label each group."""
    from rich.markup import escape
    from rich.table import Table

    filt = parse_where(where)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        found = col.clusters(
            k, where=filt, principals=principals(principal), seed=seed, level=level
        )
    if json_out:
        print_json([_cluster_dict(c) for c in found])
        return
    if not found:
        out.print("[dim]No items to cluster.[/dim]")
        return
    table = Table(title=f"{len(found)} cluster(s) of {sum(c.size for c in found)} item(s)")
    for name, justify in (("#", "right"), ("size", "right"), ("label", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("medoid", overflow="fold")
    for c in found:
        # the label is the first distinctive terms (or the medoid's title): show a few more
        more = [t for t in c.terms[:6] if t not in c.label]
        label = f"[bold]{escape(c.label)}[/bold]" + (
            f" [dim]· {escape(', '.join(more))}[/dim]" if more else ""
        )
        table.add_row(str(c.id), str(c.size), label, escape(c.medoid))
    out.print(table)


def _cluster_dict(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "label": c.label,
        "terms": list(c.terms),
        "size": c.size,
        "medoid": c.medoid,
        "ids": list(c.ids),
    }


@handle_errors
def sample_command(
    n: Annotated[int, typer.Argument(min=1, max=10_000, help="How many items to draw.")],
    index: IndexOpt,
    around: Annotated[
        str | None,
        typer.Option(
            "--around",
            "-a",
            show_default=False,
            help="Sample near this text, @ITEM-ID or image:PATH.",
        ),
    ] = None,
    spread: Annotated[
        float,
        typer.Option(
            "--spread", help="Width of the draw (> 0): below 1 typical, above 1 surprising."
        ),
    ] = 1.0,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, show_default=False, help="Random seed.")
    ] = None,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Draw new members of a region of the latent space, each decoded to its nearest item."""
    from rich.markup import escape
    from rich.table import Table

    filt = parse_where(where)
    term = None if around is None else parse_term(around)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        draws = col.sample(
            n, around=term, where=filt, principals=principals(principal), spread=spread, seed=seed
        )
    if json_out:
        print_json(
            [
                {"id": d.hit.id, "title": d.hit.source.title, "distance": d.distance, "hit": d.hit}
                for d in draws
            ]
        )
        return
    table = Table(
        title=f"{len(draws)} draw(s){f' around {escape(around)}' if around else ''}, spread {spread:g}"
    )
    for name, justify in (
        ("#", "right"),
        ("distance", "right"),
        ("id", "left"),
        ("title / text", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, d in enumerate(draws, start=1):
        table.add_row(str(i), f"{d.distance:.3f}", escape(d.hit.id), escape(_shown(d.hit)))
    out.print(table)


def _shown(hit: Any) -> str:
    if hit.source.title and hit.source.title != hit.id:
        return str(hit.source.title)
    if hit.kind != "text":
        return f"({hit.kind})"
    text = " ".join((hit.text or "").split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


@handle_errors
def axis_command(
    negative: Annotated[str, typer.Argument(help="The pole at 0: text, @ITEM-ID or image:PATH.")],
    positive: Annotated[str, typer.Argument(help="The pole at 1: text, @ITEM-ID or image:PATH.")],
    index: IndexOpt,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Items shown from each end (--json: all).")
    ] = 10,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Place every visible item on a concept axis from one pole to another."""
    from rich.markup import escape
    from rich.table import Table

    filt = parse_where(where)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        found = col.axis(
            parse_term(negative), parse_term(positive), where=filt, principals=principals(principal)
        )
    if json_out:
        print_json([{"id": a.id, "coord": a.coord, "title": a.title} for a in found])
        return
    table = Table(title=f"{escape(negative)} (0) → {escape(positive)} (1): {len(found)} item(s)")
    for name, justify in (("coord", "right"), ("id", "left"), ("title", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    shown = found if len(found) <= 2 * limit else [*found[:limit], None, *found[-limit:]]
    for a in shown:
        if a is None:
            table.add_row("…", f"[dim]{len(found) - 2 * limit} more[/dim]", "")
        else:
            table.add_row(f"{a.coord:.3f}", escape(a.id), escape(a.title or ""))
    out.print(table)
