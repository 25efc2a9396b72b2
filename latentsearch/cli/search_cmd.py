"""``latentsearch search``, ``query`` and ``analogy``: read commands over a collection."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from latentsearch.cli.app import handle_errors
from latentsearch.cli.common import (
    DEFAULT_COLLECTION,
    CollectionOpt,
    DatabaseOpt,
    DeviceOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    MmrOpt,
    PrincipalOpt,
    WhereOpt,
    image_path,
    open_index,
    parse_term,
    parse_where,
    principals,
)
from latentsearch.cli.output import print_hits
from latentsearch.cli.query_vectors import open_for_queries
from latentsearch.errors import InvalidInputError

SEARCH_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch search "vpn keeps disconnecting" --index idx
  latentsearch search "refund policy" --index idx -k 5 --where '{"team": "support"}' -p group:support
  latentsearch search "disk full" --index idx --chunks --json
  latentsearch search @runbooks/vpn.md --index idx             [dim]# more like this item[/dim]
  latentsearch search --image photo.png --index idx --collection media
  latentsearch search "a red circle" --index idx --collection media --mmr 0.7
  latentsearch search "error 0x80070005" --index idx --mode hybrid
"""

QUERY_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch query 'king - man + woman' --index idx
  latentsearch query '"vpn outage" - "windows"' --index idx -p group:eng
  latentsearch query '0.7 * "formal tone" + @ticket-123' --index idx --json
  latentsearch query 'image:samples/images/red_circle.png - "red" + "blue"' --index idx --collection media

Terms: "quoted text", bare words, @ITEM-ID, image:PATH, vec:NAME (a saved direction); combine
them with + and -, weight them with * (see docs/query.md).
"""

ANALOGY_EXAMPLES = """
[bold]Examples[/bold]

  latentsearch analogy -P king -P woman -N man --index idx
  latentsearch analogy -P paris -P germany -N france --method 3cosmul --index idx --json
  latentsearch analogy -P @TICKET-101 -P "billing" -N "vpn" --weight 1 --weight 0.5 --weight 0.5 --index idx
  latentsearch analogy -P image:red_square.png -P "a blue circle" -N "a red circle" --index idx -c media

A term is text, @ITEM-ID for a stored item, or image:PATH in a CLIP collection (a plain
term that is the id of a stored item you may see stands for that item).
"""


@handle_errors
def search_command(
    index: IndexOpt,
    query: Annotated[
        str | None,
        typer.Argument(
            help="Text to search for, or @ID for items like a stored one.", show_default=False
        ),
    ] = None,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    k: KOpt = 10,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            show_default=False,
            help="Search with this image instead of text (CLIP collections).",
        ),
    ] = None,
    per_document: Annotated[
        bool,
        typer.Option(
            "--per-document/--chunks", help="One hit per document (best chunk), or raw chunks."
        ),
    ] = True,
    mmr: MmrOpt = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode", help="dense (embeddings), keyword (full-text index) or hybrid (both, fused)."
        ),
    ] = "dense",
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Find the items most similar to a text, an image or a stored item."""
    if (query is None) == (image is None):
        raise InvalidInputError("give a QUERY or --image FILE (exactly one)")
    if mode not in ("dense", "keyword", "hybrid"):
        raise InvalidInputError(f"--mode must be dense, keyword or hybrid, not {mode!r}")
    q: Any = image_path(image) if image is not None else parse_term(query or "")
    filt = parse_where(where)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        hits = col.search(
            q,
            k,
            mode=mode,
            where=filt,
            principals=principals(principal),
            mmr=mmr,
            per_document=per_document,
        )
        print_hits(hits, as_json=json_out)


@handle_errors
def query_command(
    expression: Annotated[
        str, typer.Argument(help="An expression such as 'king - man + woman'.", show_default=False)
    ],
    index: IndexOpt,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    k: KOpt = 10,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    mmr: MmrOpt = None,
    include_inputs: Annotated[
        bool,
        typer.Option(
            "--include-inputs", help="Keep items named in the expression (@ID) in the results."
        ),
    ] = False,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Search with a vector-arithmetic expression over texts, images, items and directions."""
    filt = parse_where(where)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        hits = col.query(
            expression,
            k,
            where=filt,
            principals=principals(principal),
            mmr=mmr,
            exclude_inputs=not include_inputs,
        )
        print_hits(hits, as_json=json_out)


@handle_errors
def analogy_command(
    index: IndexOpt,
    positive: Annotated[
        list[str],
        typer.Option(
            "--positive", "-P", show_default=False, help="A term to move towards (repeatable)."
        ),
    ],
    negative: Annotated[
        list[str] | None,
        typer.Option(
            "--negative", "-N", show_default=False, help="A term to move away from (repeatable)."
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method", help="3cosadd (gensim most_similar) or 3cosmul (most_similar_cosmul)."
        ),
    ] = "3cosadd",
    weight: Annotated[
        list[float] | None,
        typer.Option(
            "--weight",
            show_default=False,
            help="A weight per term, positives first (repeatable; default 1 each).",
        ),
    ] = None,
    include_inputs: Annotated[
        bool, typer.Option("--include-inputs", help="Keep the input items in the results.")
    ] = False,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    k: KOpt = 10,
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Solve "A is to B as C is to ?": positives minus negatives, ranked by similarity."""
    if method not in ("3cosadd", "3cosmul"):
        raise InvalidInputError(f"--method must be 3cosadd or 3cosmul, not {method!r}")
    pos = [parse_term(t) for t in positive]
    neg = [parse_term(t) for t in negative or ()]
    filt = parse_where(where)
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        hits = col.analogy(
            pos,
            neg,
            k,
            method=method,
            weights=weight or None,
            exclude_inputs=not include_inputs,
            where=filt,
            principals=principals(principal),
        )
        print_hits(hits, as_json=json_out)
