"""Printing results: rich tables for people, JSON for programs (``--json``)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.padding import Padding

from latentsearch.cli.app import out

if TYPE_CHECKING:
    from latentsearch.results import Hit

SNIPPET = 160


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(value: Any) -> None:
    """JSON on stdout, one document, no colour or wrapping."""
    sys.stdout.write(json.dumps(value, default=_default, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def document_of(hit: Hit) -> str:
    """The document a hit belongs to: its parent for a chunk, else itself."""
    return hit.chunk.parent if hit.chunk is not None else hit.id


def hit_dict(rank: int, hit: Hit) -> dict[str, Any]:
    d = dataclasses.asdict(hit)
    return {"rank": rank, "document": document_of(hit), **d}


def print_hits(hits: Sequence[Hit], *, as_json: bool) -> None:
    """One block per hit: rank, score, document id and title; the passage; where it came from."""
    from rich.markup import escape

    if as_json:
        print_json([hit_dict(i, h) for i, h in enumerate(hits, start=1)])
        return
    if not hits:
        out.print("[dim]No results.[/dim]")
        return
    for i, h in enumerate(hits, start=1):
        title = f" [dim]-[/dim] {escape(h.source.title)}" if h.source.title else ""
        out.print(
            f"[bold]{i:>2}.[/bold] [green]{h.score:.3f}[/green]  [bold cyan]{escape(document_of(h))}[/bold cyan]{title}"
        )
        out.print(Padding(_snippet(h), (0, 0, 0, 4), expand=False), overflow="fold")
        extras = []
        if h.chunk is not None:
            extras.append(f"chars {h.chunk.start}-{h.chunk.end} of {escape(h.chunk.parent)}")
        if h.source.uri:
            extras.append(escape(h.source.uri))
        if h.why:
            extras.append("why: " + ", ".join(f"{escape(k)} {v:+.3f}" for k, v in h.why.items()))
        if extras:
            out.print(
                Padding("[dim]" + "  |  ".join(extras) + "[/dim]", (0, 0, 0, 4), expand=False),
                overflow="fold",
            )


def _snippet(h: Hit) -> str:
    from rich.markup import escape

    if h.kind == "image":
        return f"[magenta]image[/magenta] {escape(h.text or '')}"
    text = " ".join((h.text or "").split())
    if len(text) > SNIPPET:
        text = text[: SNIPPET - 1] + "…"
    return escape(text)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "n/a"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def parse_size(text: str) -> int:
    """``"64MB"``, ``"512k"``, ``"1GiB"`` or a plain number of bytes."""
    import re

    from latentsearch.errors import InvalidInputError

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", text.lower())
    if not m:
        raise InvalidInputError(f"cannot read size {text!r}; write e.g. 64MB, 512KB or 1000000")
    factor = 1024 ** "_kmgt".index(m.group(2) or "_")
    return int(float(m.group(1)) * factor)
