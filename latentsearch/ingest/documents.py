"""Documents, the unit loaders produce, and how a document becomes stored items (its chunks)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentsearch.ingest.chunking import Chunker

Progress = Callable[[int], None]


class LoadError(Exception):
    """A file that cannot be read; ``reason`` is the short text shown in the build summary."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Document:
    """One thing to index: a whole file, or one record of a record file.

    ``error`` is set (and content left empty) for a record that cannot be indexed; the build
    reports it and goes on with the others. ``where`` says where it is, e.g. ``line 12``.
    """

    id: str
    text: str | None = None
    image: Path | None = None
    title: str | None = None
    uri: str | None = None
    acl: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    where: str = ""
    error: str | None = None

    def digest(self, settings: str) -> str:
        """Hash of everything that shapes this document's items, plus the build settings."""
        payload = {
            "text": self.text,
            "image": str(self.image) if self.image else None,
            "title": self.title,
            "uri": self.uri,
            "acl": self.acl,
            "metadata": self.metadata,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(f"{settings}\0{blob}".encode()).hexdigest()


def chunk_id(doc_id: str, n: int) -> str:
    """The id of a document's ``n``-th chunk (documents that fit in one chunk keep their own id)."""
    return f"{doc_id}#{n}"


def to_records(
    doc: Document, chunker: Chunker | None, acl: list[str] | None
) -> list[dict[str, Any]]:
    """The item records (as `Collection.upsert` takes them) for one document."""
    source = {"uri": doc.uri, "title": doc.title}
    base: dict[str, Any] = {"metadata": doc.metadata, "source": source}
    item_acl = doc.acl if doc.acl is not None else acl
    if item_acl is not None:
        base["acl"] = item_acl
    if doc.image is not None:
        return [{"id": doc.id, "image": doc.image, **base}]
    text = doc.text or ""
    spans = chunker.split(text) if chunker else []
    if not spans:
        return [{"id": doc.id, "text": text, **base}] if text.strip() else []
    if len(spans) == 1:
        s = spans[0]
        return [{"id": doc.id, "text": text[s.start : s.end], **base}]
    return [
        {
            "id": chunk_id(doc.id, n),
            "text": text[s.start : s.end],
            "chunk": {"parent": doc.id, "start": s.start, "end": s.end},
            **base,
        }
        for n, s in enumerate(spans)
    ]


class CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes have been read (for the progress bar)."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self._f = path.open("rb")
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._f.readinto(buffer)
        if n and self._progress is not None:
            self._progress(n)
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


def open_counting(path: Path, progress: Progress | None) -> io.BufferedReader:
    return io.BufferedReader(CountingReader(path, progress), buffer_size=1 << 16)
