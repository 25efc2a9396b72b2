"""Record files (``.jsonl``, ``.json`` arrays, ``.csv``), streamed one record at a time.

A record has ``id``, ``text``, and optionally ``title``, ``url``/``uri``, ``acl`` (a list of
principals; in CSV a string split on commas, semicolons or spaces) and ``metadata`` (an object).
Every other top-level field goes into metadata. `FieldMap` renames the id and text fields
(``--id-field``, ``--text-field``; several text fields are joined by blank lines).

Memory stays flat whatever the file size: JSONL and CSV are read line by line, and JSON arrays
through ijson's incremental parser.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from latentsearch.checks import check_json, check_text
from latentsearch.errors import InvalidInputError
from latentsearch.ingest.documents import Document, LoadError, Progress, open_counting
from latentsearch.ingest.sources import SourceFile

RESERVED = ("title", "url", "uri", "acl", "metadata")
_SPLIT_ACL = re.compile(r"[,;\s]+")
csv.field_size_limit(1 << 27)


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Which record fields hold the id and the text."""

    id_field: str = "id"
    text_fields: tuple[str, ...] = ("text",)

    def key(self) -> str:
        return f"{self.id_field}|{','.join(self.text_fields)}"


def load_records(sf: SourceFile, fields: FieldMap, progress: Progress | None) -> Iterator[Document]:
    suffix = sf.path.suffix.lower()
    try:
        with open_counting(sf.path, progress) as fh:
            if suffix == ".csv":
                rows: Iterator[tuple[str, Any]] = _csv_rows(fh)
            elif suffix == ".json":
                rows = _json_rows(fh)
            else:
                rows = _jsonl_rows(fh)
            for where, row in rows:
                yield to_document(row, where, sf, fields)
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except UnicodeDecodeError as exc:
        raise LoadError(f"undecodable text: not valid UTF-8 at byte {exc.start}") from exc


def _jsonl_rows(fh: io.BufferedReader) -> Iterator[tuple[str, Any]]:
    for n, raw in enumerate(fh, start=1):
        if n == 1 and b"\0" in raw:
            raise LoadError("binary file: it holds NUL bytes, so it is not JSON lines")
        line = raw.decode("utf-8-sig" if n == 1 else "utf-8").strip()
        if not line:
            continue
        try:
            yield f"line {n}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {n}", _Bad(f"invalid JSON: {exc.msg} (column {exc.colno})")


def _json_rows(fh: io.BufferedReader) -> Iterator[tuple[str, Any]]:
    import ijson

    head = fh.peek(4096)[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"\0" in head:
        raise LoadError("binary file: it holds NUL bytes, so it is not JSON")
    if not head.startswith(b"["):
        raise LoadError(
            "not a JSON array: a .json file must hold an array of records (or use .jsonl)"
        )
    try:
        for n, row in enumerate(ijson.items(fh, "item", use_float=True), start=1):
            yield f"record {n}", row
    except ijson.JSONError as exc:
        raise LoadError(f"invalid JSON: {exc}") from exc


def _csv_rows(fh: io.BufferedReader) -> Iterator[tuple[str, Any]]:
    if b"\0" in fh.peek(8192)[:8192]:
        raise LoadError("binary file: it holds NUL bytes, so it is not CSV")
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        for row in reader:
            extra = row.pop(None, None)
            if extra:
                yield (
                    f"line {reader.line_num}",
                    _Bad(f"{len(extra)} more values than header columns"),
                )
                continue
            yield f"line {reader.line_num}", {k: v for k, v in row.items() if v not in (None, "")}
    except csv.Error as exc:
        raise LoadError(f"invalid CSV at line {reader.line_num}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Bad:
    reason: str


def to_document(row: Any, where: str, sf: SourceFile, fields: FieldMap) -> Document:
    """Map one parsed record to a document (with ``error`` set when it cannot be indexed)."""
    if isinstance(row, _Bad):
        return Document(id="", where=where, error=row.reason)
    if not isinstance(row, Mapping):
        return Document(
            id="", where=where, error=f"a record must be an object, not {type(row).__name__}"
        )
    missing = [f for f in fields.text_fields if f not in row]
    if len(missing) == len(fields.text_fields):
        have = ", ".join(sorted(map(str, row))[:8])
        return Document(
            id="",
            where=where,
            error=f"no {' or '.join(map(repr, missing))} field (fields: {have}); name the text field with --text-field",
        )
    parts = [row[f] for f in fields.text_fields if row.get(f) is not None]
    if any(not isinstance(p, str) for p in parts):
        return Document(id="", where=where, error="the text field must be a string")
    text = "\n\n".join(p for p in parts if p.strip())
    if not text.strip():
        return Document(id="", where=where, error="empty: the text field is empty")
    doc = Document(id="", text=text, where=where)
    doc.id = _record_id(row.get(fields.id_field), sf, text)
    title, uri = row.get("title"), row.get("url", row.get("uri"))
    doc.title = str(title) if title not in (None, "") else None
    doc.uri = str(uri) if uri not in (None, "") else sf.path.as_uri()
    acl = row.get("acl")
    if isinstance(acl, str):
        acl = [p for p in _SPLIT_ACL.split(acl) if p]
    if acl is not None and (
        not isinstance(acl, list)
        or not acl
        or not all(isinstance(p, str) and p.strip() for p in acl)
    ):
        return Document(
            id=doc.id,
            where=where,
            error="acl must be a non-empty list of principals like ['group:eng'] (['*'] for everyone)",
        )
    doc.acl = acl
    meta = row.get("metadata")
    if meta is not None and not isinstance(meta, Mapping):
        return Document(id=doc.id, where=where, error="metadata must be an object")
    skip = {fields.id_field, *fields.text_fields, *RESERVED}
    doc.metadata = {**{k: v for k, v in row.items() if k not in skip}, **(meta or {})}
    if not _finite(doc.metadata):
        return Document(
            id=doc.id, where=where, error="metadata holds NaN or infinity, which JSON cannot store"
        )
    try:  # text that could not be stored or read back (a lone surrogate, NUL): this record fails
        for what, value in (("id", doc.id), ("text", text), ("title", doc.title), ("uri", doc.uri)):
            if value is not None:
                check_text(value, f"the {what}")
        check_json(doc.acl, "the acl")
        check_json(doc.metadata, "the metadata")
    except InvalidInputError as exc:
        return Document(id="", where=where, error=str(exc))
    return doc


def _record_id(value: Any, sf: SourceFile, text: str) -> str:
    if value is None or value == "":
        # No id: one derived from the content, stable across rebuilds.
        return f"{sf.doc_id}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True
