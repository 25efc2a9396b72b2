"""One entry per document: an answer's hits grouped by the document they come from.

Passages of one document share their chunk's parent; the page shows each document once with
its best passages folded under it. The grouping runs over the hits already answered, so it sees
only what the caller may see: a hidden passage can never be folded under a visible document.
"""

from __future__ import annotations

from typing import Any

from latentsearch.results import Hit


def documents_out(hits: list[Hit], shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents of ``hits`` in the order of their best hit (`responses.DocumentOut`).

    ``shown`` are the hits as answered (`convert.hits_out`), for the public title and URI."""
    docs: dict[str, dict[str, Any]] = {}
    for i, (hit, out) in enumerate(zip(hits, shown, strict=True)):
        doc_id = hit.chunk.parent if hit.chunk is not None else hit.id
        doc = docs.get(doc_id)
        if doc is None:
            citation = out["citation"]
            docs[doc_id] = {
                "doc_id": doc_id,
                "title": citation.title,
                "uri": citation.uri,
                "kind": hit.kind,
                "rank": i + 1,
                "score": float(hit.score),
                "hits": [i],
            }
        else:
            doc["hits"].append(i)
    return list(docs.values())
