"""Partial answers: which shards a search could not reach, for callers that accept that.

A search through the public API runs inside `collecting`; `report` is what the sharded index
calls when no replica of some shards answered. Without ``allow_partial`` it raises
`ShardUnavailableError` (a silent short answer is a defect); with it, the shards are noted and the
facade returns them as `SearchHits.missing_shards`. A context variable carries this through the
query layer, which never needs to know about shards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from latentsearch.errors import ShardUnavailableError
from latentsearch.results import Hit, SearchHits

_missing: ContextVar[set[int] | None] = ContextVar("latentsearch_missing_shards", default=None)


@contextmanager
def collecting(allow_partial: bool) -> Iterator[set[int]]:
    """Within: shards that did not answer are added to the yielded set when ``allow_partial``,
    else they raise `ShardUnavailableError`."""
    missing: set[int] = set()
    token = _missing.set(missing if allow_partial else None)
    try:
        yield missing
    finally:
        _missing.reset(token)


def report(collection: str, shards: Iterable[int]) -> None:
    """No replica of ``shards`` answered: raise, or note them for a partial answer."""
    lost = sorted(set(shards))
    box = _missing.get()
    if box is None:
        raise ShardUnavailableError(
            f"no replica of shard(s) {lost} of collection {collection!r} answered; retry later, "
            "check the cluster (latentsearch cluster status), or pass allow_partial=True to get "
            "the other shards' hits marked as partial"
        )
    box.update(lost)


def marked(allow_partial: bool, search: Callable[[], list[Hit]]) -> SearchHits:
    """Run ``search`` inside `collecting`; its hits marked with the shards that were missing."""
    with collecting(allow_partial) as missing:
        hits = search()
    return SearchHits(hits, missing_shards=sorted(missing))


def marked_batch(allow_partial: bool, search: Callable[[], list[list[Hit]]]) -> list[SearchHits]:
    """`marked` for a batch: every query's hits carry the batch's missing shards."""
    with collecting(allow_partial) as missing:
        out = search()
    return [SearchHits(hits, missing_shards=sorted(missing)) for hits in out]
