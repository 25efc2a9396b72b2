"""A connector's `Record` -> the item records `Collection.upsert` takes.

``text`` is used as it is; ``content`` bytes go through the ingest loaders chosen by
``filename``'s suffix (HTML, PDF, Markdown, text); ``parts`` become one item each (a mail
thread's messages), with offsets into the joined text so citations point inside it. Otherwise
the ingest chunker splits the text as ``latentsearch build`` does. Item ids are
``<source>:<record id>`` (chunks ``...#n``), so two sources never collide in one collection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentsearch.connectors.base import Record
from latentsearch.connectors.lines import chunk_lines
from latentsearch.ingest.chunking import Chunker
from latentsearch.ingest.documents import Document, LoadError, chunk_id, to_records
from latentsearch.ingest.loaders import decode_text, load_bytes
from latentsearch.ingest.sources import KINDS

PART_SEPARATOR = "\n\n"


def doc_id(source: str, record_id: str) -> str:
    return f"{source}:{record_id}"


def items_for(
    source: str, record: Record, acl: list[str] | None, chunker: Chunker | None
) -> list[dict[str, Any]]:
    """The item records of ``record`` (raises `LoadError` when its content cannot be read)."""
    did = doc_id(source, record.id)
    metadata = {"source": source, **record.metadata}
    if record.parts is not None:
        return _parts(did, record, metadata, acl)
    text, title = record.text, record.title
    if text is None:
        if record.content is None:
            raise LoadError("the record has neither text nor content")
        text, loaded_title = _load(record.content, record.filename or "")
        title = title or loaded_title
    doc = Document(id=did, text=text, title=title, uri=record.uri, acl=acl, metadata=metadata)
    records = to_records(doc, chunker, None)
    if not records:
        raise LoadError("empty: no text to index")
    return chunk_lines(records, text, record.metadata.get("lines"), record.uri)


def _parts(
    did: str, record: Record, metadata: dict[str, Any], acl: list[str] | None
) -> list[dict[str, Any]]:
    parts = [p for p in record.parts or [] if p.strip()]
    if not parts:
        raise LoadError("empty: every part of the record is blank")
    base: dict[str, Any] = {
        "metadata": metadata,
        "source": {"uri": record.uri, "title": record.title},
    }
    if acl is not None:
        base["acl"] = acl
    if len(parts) == 1:
        return [{"id": did, "text": parts[0], **base}]
    out, start = [], 0
    for n, part in enumerate(parts):
        end = start + len(part)
        chunk = {"parent": did, "start": start, "end": end}
        out.append({"id": chunk_id(did, n), "text": part, "chunk": chunk, **base})
        start = end + len(PART_SEPARATOR)
    return out


def _load(content: bytes, filename: str) -> tuple[str, str | None]:
    """Text and title of ``content`` by the ingest loader for ``filename``'s suffix; bytes with
    no or an unknown suffix are text."""
    if Path(filename).suffix.lower() not in KINDS:
        return decode_text(content), None
    doc = load_bytes(content, filename)
    return doc.text or "", doc.title
