"""`LazyHit`: a `Hit` whose metadata, source and chunk are built on first access.

Building every field of every hit costs more than ranking it when a batch returns 10,000 hits:
decoding the metadata JSON, copying it, a `Source` and a `Chunk` per hit. Most callers read the
id and the score and show a few hits at most, so those parts wait in the row until one of them
is read (then all three are built at once, and kept).

It is a `Hit` in every observable way: the same fields and values (read through properties),
``==`` with an eager `Hit` of the same values, the same ``repr``, `dataclasses.asdict` and
`dataclasses.replace`; it pickles and copies as a plain `Hit`.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from latentsearch.results import Chunk, Hit, Source

# Hit's own slots, which a LazyHit fills once its deferred parts are built.
_METADATA = Hit.__dict__["metadata"]
_SOURCE = Hit.__dict__["source"]
_CHUNK = Hit.__dict__["chunk"]
_NAMES = tuple(f.name for f in fields(Hit))


class LazyHit(Hit):
    """A `Hit` made from a `store.hitrows` row; see the module docstring."""

    __slots__ = ("_row",)
    _row: tuple[Any, ...] | None  # the row until metadata, source and chunk are built

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # `dataclasses.replace` and direct construction: every field given, nothing deferred.
        self._row = None
        Hit.__init__(self, *args, **kwargs)

    @classmethod
    def of(cls, row: tuple[Any, ...], score: float, why: dict[str, float] | None) -> LazyHit:
        """A hit from ``row`` (`store.hitrows.COLUMNS` order) without building its deferred parts."""
        h = cls.__new__(cls)
        h._row = row
        h.id = row[1]
        h.score = score
        h.kind = row[2]
        h.text = row[3] if row[2] != "image" else row[4]
        h.why = why
        return h

    def _build(self) -> None:
        row, self._row = self._row, None
        assert row is not None
        meta = row[10]
        if isinstance(meta, str | bytes):
            meta = json.loads(meta)  # SQLite hands JSON back as text; psycopg decodes it itself
        _METADATA.__set__(self, dict(meta or {}))
        _SOURCE.__set__(self, Source(uri=row[5], title=row[6]))
        parent, start, end = row[7], row[8], row[9]
        chunk = None
        if parent is not None and start is not None and end is not None:
            chunk = Chunk(parent=parent, start=start, end=end)
        _CHUNK.__set__(self, chunk)

    @property
    def metadata(self) -> dict[str, Any]:
        if self._row is not None:
            self._build()
        value: dict[str, Any] = _METADATA.__get__(self)
        return value

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        if getattr(self, "_row", None) is not None:
            self._build()
        _METADATA.__set__(self, value)

    @property
    def source(self) -> Source:
        if self._row is not None:
            self._build()
        value: Source = _SOURCE.__get__(self)
        return value

    @source.setter
    def source(self, value: Source) -> None:
        if getattr(self, "_row", None) is not None:
            self._build()
        _SOURCE.__set__(self, value)

    @property
    def chunk(self) -> Chunk | None:
        if self._row is not None:
            self._build()
        value: Chunk | None = _CHUNK.__get__(self)
        return value

    @chunk.setter
    def chunk(self, value: Chunk | None) -> None:
        if getattr(self, "_row", None) is not None:
            self._build()
        _CHUNK.__set__(self, value)

    def eager(self) -> Hit:
        """The same hit as a plain `Hit`."""
        return Hit(*(getattr(self, n) for n in _NAMES))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _NAMES)

    __hash__ = None  # type: ignore[assignment]  # mutable, like Hit

    def __repr__(self) -> str:
        return repr(self.eager())

    def __reduce__(self) -> tuple[Any, ...]:
        return (Hit, tuple(getattr(self, n) for n in _NAMES))
