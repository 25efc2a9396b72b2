"""Normalise `Collection.add` arguments into validated records, before anything is written.

Arguments come as columns (``texts=[...], ids=[...], metadata=[...]``) or as rows (a list of
dicts). Every check that can fail runs here, so a bad batch raises before the store is touched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from latentsearch.checks import check_int32, check_json, check_principal, check_text
from latentsearch.encoders.images import image_hash, load_image
from latentsearch.errors import (
    DimensionMismatchError,
    DuplicateIdError,
    EmptyTextError,
    InvalidInputError,
    NonFiniteVectorError,
)
from latentsearch.store.models import content_hash
from latentsearch.vectors import real_array, to_float32
from latentsearch.vectors import unit_rows as _unit_rows

ROW_KEYS = {"id", "text", "image", "vector", "metadata", "acl", "source", "uri", "title", "chunk"}
SOURCE_KEYS = {"uri", "title"}
MAX_ID_LENGTH = 512


@dataclass(slots=True)
class NewItem:
    """One validated item, ready to encode and store."""

    external_id: str
    kind: str  # "text" | "image" | "vector"
    text: str | None = None
    image: Image.Image | None = None
    content_ref: str | None = None
    vector: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    acl: list[str] | None = None
    source_uri: str | None = None
    source_title: str | None = None
    parent_id: str | None = None
    chunk_start: int | None = None
    chunk_end: int | None = None
    content_hash: str = ""


def stable_id(kind: str, digest: str) -> str:
    """A generated id that is the same for the same content: re-adding it is a no-op upsert."""
    return f"{kind}-{digest[:16]}"


def scoped_id(kind: str, digest: str, principals: Sequence[str]) -> str:
    """The content-derived id of a write restricted to ``principals`` (same shape as `stable_id`).

    A restricted writer cannot be given `stable_id` whenever an item with that id is hidden from
    it: the write must not touch the hidden item, and answering with another id only in that case
    would tell the writer that the hidden content exists. So its records without an id get this
    id, derived from the content and its (sorted, distinct) principals, unless the shared
    `stable_id` item exists and is visible to it (see `core.write_rules.derive_ids`).
    """
    scope = json.dumps(sorted(set(principals)), ensure_ascii=True)
    return stable_id(kind, hashlib.sha256(f"{digest}\0{scope}".encode()).hexdigest())


def _column(name: str, values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, str | bytes | Mapping):
        raise InvalidInputError(
            f"{name}= must be a list with one entry per item, not a single {type(values).__name__}"
        )
    out: list[Any] = list(values)
    if len(out) != n:
        raise InvalidInputError(
            f"{name}= has {len(out)} entries but there are {n} items; give one per item"
        )
    return out


def rows_from_columns(
    *,
    texts: Sequence[str] | None,
    images: Sequence[Any] | None,
    vectors: Any,
    ids: Sequence[str] | None,
    metadata: Sequence[Mapping[str, Any] | None] | None,
    acl: Sequence[Sequence[str] | None] | None,
    sources: Sequence[Mapping[str, Any] | None] | None,
) -> list[dict[str, Any]]:
    """Turn column arguments into row dicts (one kind of content per call)."""
    given = [
        (k, v)
        for k, v in (("text", texts), ("image", images), ("vector", vectors))
        if v is not None
    ]
    if len(given) != 1:
        raise InvalidInputError(
            "give exactly one of texts=, images= or vectors= (or a list of records); "
            f"got {', '.join(k + 's=' for k, _ in given) or 'none'}"
        )
    kind, content = given[0]
    if kind == "vector":
        arr = np.asarray(content)
        if arr.ndim == 1 and arr.size and not isinstance(content, list):
            arr = arr.reshape(1, -1)
        content = list(arr) if arr.ndim == 2 else list(content)
    elif isinstance(content, str | Path | Image.Image):
        raise InvalidInputError(f"{kind}s= must be a list, not a single {type(content).__name__}")
    content = list(content)
    n = len(content)
    cols = {
        "id": _column("ids", ids, n),
        "metadata": _column("metadata", metadata, n),
        "acl": _column("acl", acl, n),
        "source": _column("sources", sources, n),
    }
    return [{kind: content[i], **{k: v[i] for k, v in cols.items()}} for i in range(n)]


def normalise(
    rows: Sequence[Mapping[str, Any]],
    *,
    dim: int,
    normalize: bool,
    default_acl: list[str],
    vectors_checked: bool = False,
) -> list[NewItem]:
    """Validate rows and compute content hashes; raise on the first problem, naming the item.

    ``vectors_checked``: the rows' vectors are float32 rows already validated and normalised
    by `vector_block`, and are taken as they are.
    """
    items: list[NewItem] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if type(row) is not dict and not isinstance(row, Mapping):
            raise InvalidInputError(f"record {i} must be a dict, not {type(row).__name__}")
        unknown = set(row) - ROW_KEYS
        if unknown:
            raise InvalidInputError(
                f"record {i} has unknown keys {sorted(unknown)}; allowed: {sorted(ROW_KEYS)}"
            )
        item = _one(i, row, dim, normalize, default_acl, vectors_checked)
        if item.external_id in seen:
            raise DuplicateIdError(
                f"id {item.external_id!r} appears twice in this batch (items {seen[item.external_id]} and {i}); ids must be unique"
            )
        seen[item.external_id] = i
        items.append(item)
    return items


def _one(
    i: int,
    row: Mapping[str, Any],
    dim: int,
    normalize: bool,
    default_acl: list[str],
    vectors_checked: bool,
) -> NewItem:
    kinds = [k for k in ("text", "image", "vector") if row.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidInputError(
            f"record {i} needs exactly one of 'text', 'image' or 'vector', got {kinds or 'none'}"
        )
    kind = kinds[0]
    item = NewItem(external_id="", kind=kind)
    if kind == "text":
        text = row["text"]
        if not isinstance(text, str):
            raise InvalidInputError(f"record {i}: text must be a str, not {type(text).__name__}")
        if not text.strip():
            raise EmptyTextError(f"record {i}: text is empty; every text item needs some content")
        check_text(text, f"record {i}: text")
        item.text = text
        item.content_hash = content_hash("text", text.encode("utf-8"))
    elif kind == "image":
        img = row["image"]
        if isinstance(img, str | Path):
            item.content_ref = check_text(str(img), f"record {i}: image path")
        try:
            item.image = load_image(img)
        except InvalidInputError as exc:
            raise type(exc)(f"record {i}: {exc}") from exc
        item.content_hash = content_hash("image", image_hash(item.image).encode())
    else:
        v = row["vector"]
        item.vector = v if vectors_checked else _vector(i, v, dim, normalize)
        item.content_hash = content_hash("vector", item.vector.tobytes())
    item.external_id = _external_id(i, row.get("id"), kind, item.content_hash)
    item.metadata = _metadata(i, row.get("metadata"))
    item.acl = _acl(i, row.get("acl"), default_acl)
    item.source_uri, item.source_title = _source(i, row)
    chunk = row.get("chunk")
    if chunk is not None:
        try:
            item.parent_id, item.chunk_start, item.chunk_end = (
                str(chunk["parent"]),
                int(chunk["start"]),
                int(chunk["end"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"record {i}: chunk must be {{'parent': str, 'start': int, 'end': int}}"
            ) from exc
        check_text(item.parent_id, f"record {i}: chunk parent")
        if len(item.parent_id) > MAX_ID_LENGTH:
            raise InvalidInputError(
                f"record {i}: chunk parent is longer than {MAX_ID_LENGTH} characters"
            )
        check_int32(item.chunk_start, f"record {i}: chunk start")
        check_int32(item.chunk_end, f"record {i}: chunk end")
    return item


def _vector(i: int, v: Any, dim: int, normalize: bool) -> np.ndarray:
    arr = real_array(v, f"record {i}: vector").reshape(1, -1)
    if arr.shape[1] != dim:
        raise DimensionMismatchError(
            f"record {i}: vector has dimension {arr.shape[1]}, this collection stores {dim}"
        )
    if not np.isfinite(arr).all():
        raise NonFiniteVectorError(f"record {i}: vector contains NaN or infinity")
    block = to_float32(arr, rescale=normalize, what=f"record {i}: vector")
    if normalize:
        block = unit_rows(block, first=i)
    return np.ascontiguousarray(block[0], dtype=np.float32)


def unit_rows(block: np.ndarray, first: int = 0) -> np.ndarray:
    """Rows scaled to unit length (one computation for every path, so content hashes agree),
    without overflow or underflow (see `latentsearch.vectors`)."""
    out, zero = _unit_rows(block)
    if zero.any():
        raise InvalidInputError(
            f"record {first + int(np.flatnonzero(zero)[0])}: zero vector has no direction for "
            "cosine similarity"
        )
    return out


def vector_block(vectors: Any, dim: int, normalize: bool) -> np.ndarray | None:
    """``vectors=`` given as a 2-d numeric array, validated and normalised at once (the fast
    path for large batches); None when it is anything else (then each row is checked alone)."""
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2:
        return None
    real_array(vectors, "vectors")  # complex, bool, str and object arrays are refused
    if vectors.shape[1] != dim:
        raise DimensionMismatchError(
            f"record 0: vector has dimension {vectors.shape[1]}, this collection stores {dim}"
        )
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise NonFiniteVectorError(f"record {int(bad[0])}: vector contains NaN or infinity")
    arr = to_float32(vectors, rescale=normalize, what=lambda row: f"record {row}: vector")
    return np.ascontiguousarray(unit_rows(arr) if normalize else arr)


def _external_id(i: int, value: Any, kind: str, digest: str) -> str:
    if value is None:
        return stable_id(kind, digest)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"record {i}: id must be a non-empty string, not {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(f"record {i}: id is longer than {MAX_ID_LENGTH} characters")
    return check_text(value, f"record {i}: id")


def _metadata(i: int, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"record {i}: metadata must be a dict, not {type(value).__name__}")
    if any(not isinstance(k, str) for k in value):
        raise InvalidInputError(f"record {i}: metadata keys must be strings")
    check_json(value, f"record {i}: metadata")  # before json.dumps: bounds the depth too
    try:
        text = json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"record {i}: metadata must be JSON-serialisable (no NaN): {exc}"
        ) from exc
    out: dict[str, Any] = json.loads(text)
    return out


def _acl(i: int, value: Any, default_acl: list[str]) -> list[str]:
    if value is None:  # the collection's default_acl, checked like a given one
        return [check_text(p, f"record {i}: default acl entry") for p in default_acl]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInputError(
            f"record {i}: acl must be a list of principals like ['group:eng'], not {value!r}"
        )
    rule = f"record {i}: acl entries must be non-empty strings"
    return sorted({check_principal(p, rule, f"record {i}: acl entry") for p in value})


def _source(i: int, row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    src = row.get("source") or {}
    if not src and row.get("uri") is None and row.get("title") is None:
        return None, None
    if not isinstance(src, Mapping):
        raise InvalidInputError(
            f"record {i}: source must be a dict like {{'uri': ..., 'title': ...}}"
        )
    unknown = set(src) - SOURCE_KEYS
    if unknown:
        raise InvalidInputError(
            f"record {i}: source has unknown keys {sorted(unknown)}; allowed: uri, title"
        )
    uri, title = src.get("uri", row.get("uri")), src.get("title", row.get("title"))
    for name, v in (("uri", uri), ("title", title)):
        if v is not None and not isinstance(v, str):
            raise InvalidInputError(f"record {i}: source {name} must be a string")
        if v is not None:
            check_text(v, f"record {i}: source {name}")
    return uri, title
