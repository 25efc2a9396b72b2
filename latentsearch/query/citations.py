"""Citations: for each hit, the document it came from, a snippet with offsets, highlighted terms."""

from __future__ import annotations

from latentsearch.query.terms import matches, query_terms
from latentsearch.results import Citation, Hit, Span

__all__ = ["Citation", "Span", "cite"]

SNIPPET_CHARS = 240


def cite(hit: Hit, query: str | None, *, width: int = SNIPPET_CHARS) -> Citation:
    """The citation of ``hit`` for a text ``query`` (None for image, vector or id queries)."""
    terms = query_terms(query) if query else []
    text = hit.text if hit.kind == "text" and hit.text else ""
    base = hit.chunk.start if hit.chunk else 0
    doc_id = hit.chunk.parent if hit.chunk else hit.id
    found = matches(text, terms) if terms else []
    lo, hi = _window(text, [(t.start, t.end) for t in found], width)
    spans = [Span(t.start - lo, t.end - lo) for t in found if t.start >= lo and t.end <= hi]
    return Citation(
        doc_id=doc_id,
        item_id=hit.id,
        title=hit.source.title,
        uri=hit.source.uri,
        snippet=text[lo:hi],
        start=base + lo,
        end=base + hi,
        highlights=spans,
        terms=terms,
    )


def _window(text: str, spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """The ``width``-character window holding the most matches, snapped to word boundaries."""
    n = len(text)
    if n <= width:
        return 0, n
    best_start, best_count = 0, 0
    j = 0
    for i, (s, _) in enumerate(spans):  # spans are in text order: slide a window starting at each
        j = max(j, i)
        while j < len(spans) and spans[j][1] <= s + width:
            j += 1
        if j - i > best_count:
            best_start, best_count = s, j - i
    if best_count:  # centre the matches a little: start up to a quarter width earlier
        best_start = max(0, best_start - width // 4)
    lo = _snap_left(text, best_start)
    hi = _snap_right(text, min(n, lo + width))
    return lo, hi


def _snap_left(text: str, i: int) -> int:
    if i <= 0:
        return 0
    k = text.rfind(" ", max(0, i - 20), i)
    return k + 1 if k >= 0 else i


def _snap_right(text: str, i: int) -> int:
    if i >= len(text):
        return len(text)
    k = text.rfind(" ", max(0, i - 20), i)
    return k if k > 0 else i
