"""Line ranges for the chunks of a line-addressed record (a file from a git repository).

A connector that sets ``metadata["lines"] = [first, last]`` on a record promises that the
record's loaded text is the file's text as it is (plain text, Markdown, reStructuredText), so a
chunk's character offsets give its lines. Each chunk item then gets its own ``lines`` and, when
the record's URI ends with the whole file's ``#L<first>-L<last>`` fragment, a URI that points
at the chunk's lines instead, so that a citation opens the right place.
"""

from __future__ import annotations

from typing import Any


def chunk_lines(
    items: list[dict[str, Any]], text: str, lines: Any, uri: str | None
) -> list[dict[str, Any]]:
    """``items`` (as `Collection.upsert` takes them), chunks given their line ranges."""
    if not (isinstance(lines, list) and len(lines) == 2 and all(isinstance(n, int) for n in lines)):
        return items
    first = lines[0]
    whole = f"#L{lines[0]}-L{lines[1]}"
    for item in items:
        chunk = item.get("chunk")
        if not chunk:
            continue
        start, end = chunk["start"], chunk["end"]
        a = first + text.count("\n", 0, start)
        b = first + text.count("\n", 0, max(start, end - 1))
        item["metadata"] = {**item.get("metadata", {}), "lines": [a, b]}
        if uri is not None and uri.endswith(whole):
            item["source"] = {**item.get("source", {}), "uri": uri[: -len(whole)] + f"#L{a}-L{b}"}
    return items
