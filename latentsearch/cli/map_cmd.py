"""``latentsearch map``: a map of a collection as an interactive HTML page or a PNG picture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from latentsearch.cli.app import err, handle_errors, out
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
    parse_where,
    principals,
)
from latentsearch.cli.output import print_json
from latentsearch.cli.query_vectors import open_for_queries
from latentsearch.errors import InvalidInputError

if TYPE_CHECKING:
    from latentsearch import Collection

EXAMPLES = """
[bold]Examples[/bold]

  latentsearch map --index idx --out map.html                  [dim]# open it in a browser[/dim]
  latentsearch map --index idx --color-by team --query "vpn outage" --out map.html
  latentsearch map --index idx --expr '"vpn outage" - "windows"' --out map.html
  latentsearch map --index idx -p group:eng --where '{"type": "runbook"}' --out eng.html
  latentsearch map --index idx --collection shapes --method pca --out shapes.png

The HTML page needs no server and no network: drag to pan, scroll to zoom, hover for the title,
click a point to open it, shift-drag (or "Select region") to list the items in a rectangle, and
pick two items as A and B to walk between them. A PNG needs matplotlib
(pip install 'latentsearch\\[map]').
"""

MethodOpt = Annotated[
    str,
    typer.Option(
        "--method", help="umap (keeps neighbourhoods; latentsearch[explore]) or pca (linear)."
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed: same seed, same map.")]
LevelOpt = Annotated[
    str, typer.Option("--level", help="chunk (one point per passage) or document.")
]


@handle_errors
def map_command(
    index: IndexOpt,
    out_path: Annotated[
        Path,
        typer.Option(
            "--out", "-o", show_default=False, help="Where to write the map: FILE.html or FILE.png."
        ),
    ],
    collection: CollectionOpt = DEFAULT_COLLECTION,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    color_by: Annotated[
        str,
        typer.Option("--color-by", help="Colour points by cluster, or by this metadata field."),
    ] = "cluster",
    query: Annotated[
        str | None,
        typer.Option(
            "--query", "-q", show_default=False, help="Draw this text query and ring its hits."
        ),
    ] = None,
    expr: Annotated[
        str | None,
        typer.Option(
            "--expr",
            show_default=False,
            help="Draw an expression: the path of its terms, its result and its hits.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="Hits to ring.")] = 10,
    method: MethodOpt = "umap",
    seed: SeedOpt = 0,
    level: LevelOpt = "chunk",
    title: Annotated[
        str | None, typer.Option("--title", show_default=False, help="The page's title.")
    ] = None,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Draw the visible items of a collection as a map: clusters, labels and a query's hits."""
    from latentsearch.cli import map_export

    if query is not None and expr is not None:
        raise InvalidInputError("give --query or --expr, not both")
    if out_path.suffix.lower() not in (".html", ".htm", ".png"):
        raise InvalidInputError(f"--out must end with .html or .png, not {out_path.name!r}")
    filt, who = parse_where(where), principals(principal)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        with err.status(f"Fitting the {method} map of {collection!r}…"):
            data = map_data(col, filt, who, method=method, seed=seed, level=level)
        data["color_by"] = color_by
        if query is not None or expr is not None:
            data |= overlay(col, query, expr, who, filt, data, k=k, method=method, level=level)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    name = title or f"latentsearch map: {collection}"
    map_export.write(data, out_path, name)
    summary = {
        "out": str(out_path),
        "points": len(data["points"]),
        "clusters": len(data["clusters"]),
        "method": data["method"],
        "seed": data["seed"],
        "cached": data["cached"],
        "hits": len(data.get("hits", [])),
    }
    if json_out:
        print_json(summary)
        return
    out.print(
        f"Wrote a map of {summary['points']} point(s) in {summary['clusters']} cluster(s) "
        f"({data['method']}, seed {seed}{', cached' if data['cached'] else ''}) to [bold]{out_path}[/bold]"
    )
    if out_path.suffix.lower() != ".png":
        out.print(f"Open it in a browser: [bold]file://{out_path.resolve()}[/bold]")


def map_data(
    col: Collection,
    where: dict[str, Any] | None,
    who: list[str] | None,
    *,
    method: str,
    seed: int,
    level: str,
) -> dict[str, Any]:
    """The map in the shape of the HTTP answer (`latentsearch.server.mapdata`)."""
    from latentsearch.server.mapdata import map_out

    m = col.map(where=where, principals=who, method=method, seed=seed, level=level)
    return map_out(m, col, who)


def overlay(
    col: Collection,
    query: str | None,
    expr: str | None,
    who: list[str] | None,
    where: dict[str, Any] | None,
    data: dict[str, Any],
    *,
    k: int,
    method: str,
    level: str,
) -> dict[str, Any]:
    """The query point (and an expression's path) on the map, its hits, the points to ring."""
    from latentsearch.server.mapdata import expression_path

    # the method asked for, as the map was (its "method" says what was fitted: PCA for a few points)
    opts: dict[str, Any] = {"method": method, "seed": data["seed"], "level": level}
    path = None
    if expr is not None:
        labels, vectors = expression_path(col, expr, who)
        xy = col.project(vectors, principals=who, **opts)
        path = [
            {"x": float(x), "y": float(y), "label": lb}
            for (x, y), lb in zip(xy, labels, strict=True)
        ]
        hits = col.query(expr, k, where=where, principals=who)
        point = {"x": path[-1]["x"], "y": path[-1]["y"], "label": "= " + expr}
    else:
        assert query is not None
        ((x, y),) = col.project([query], principals=who, **opts)
        hits = col.search(query, k, where=where, principals=who)
        point = {"x": float(x), "y": float(y), "label": query}
    # a chunk hit rings its point, and its document's point on a document-level map
    ids = {h.id for h in hits} | {h.chunk.parent for h in hits if h.chunk is not None}
    rings = [p["id"] for p in data["points"] if p["id"] in ids or p["parent"] in ids]
    return {
        "query": point,
        "path": path,
        "rings": rings,
        "hits": [{"id": h.id, "title": h.source.title, "score": float(h.score)} for h in hits],
    }
