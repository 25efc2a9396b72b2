"""``latentsearch answer``: an answer card with sources, for a person at a terminal.

The same card as `Collection.answer` and ``POST /collections/{name}/answer``: the best passages
grouped by document, each with its citation, and a short extractive summary whose sentences
cite their passage by number. No model runs; the HTTP server can add a generated answer.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

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
    parse_where,
    principals,
)
from latentsearch.cli.output import print_json
from latentsearch.cli.query_vectors import open_for_queries
from latentsearch.errors import InvalidInputError

if TYPE_CHECKING:  # --help stays fast: no numpy (see tests/cli/test_cli_lazy.py)
    from latentsearch.results import Answer

EXAMPLES = """
[bold]Examples[/bold]

  latentsearch answer "how do I reset the vpn client" --index idx
  latentsearch answer "who approves expense claims" --index idx -p group:finance -k 5
  latentsearch answer "refund rules" --index idx --mode dense --json
"""


@handle_errors
def answer_command(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    index: IndexOpt,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="Passages to gather.")] = 8,
    mode: Annotated[
        str, typer.Option("--mode", help="dense, keyword or hybrid (the default) search.")
    ] = "hybrid",
    where: WhereOpt = None,
    principal: PrincipalOpt = None,
    database: DatabaseOpt = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = False,
) -> None:
    """Answer a question from the collection: the best passages by document, with sources."""
    if mode not in ("dense", "keyword", "hybrid"):
        raise InvalidInputError(f"--mode must be dense, keyword or hybrid, not {mode!r}")
    with open_index(index, database, device) as db:
        col = open_for_queries(db, collection)
        card = col.answer(
            question, k, mode=mode, where=parse_where(where), principals=principals(principal)
        )
    if json_out:
        print_json(dataclasses.asdict(card))
    else:
        print_card(card)


def print_card(card: Answer) -> None:
    if not card.documents:
        out.print("[dim]Nothing the caller may see answers this.[/dim]")
        return
    summary = " ".join(card.summary.split())
    out.print(f"[bold]{escape(summary)}[/bold]\n")
    out.print("[bold]Sources[/bold]")
    for doc in card.documents:
        where = f"  [dim]{escape(doc.uri)}[/dim]" if doc.uri else ""
        out.print(f"  {escape(doc.title or doc.id)}{where}")
        for p in doc.passages:
            text = " ".join(p.text.split())
            text = text if len(text) <= 160 else text[:159] + "…"
            out.print(f"    [cyan][{p.number}][/cyan] {escape(text)}")
