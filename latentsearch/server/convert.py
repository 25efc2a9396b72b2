"""What the server does to requests and answers beyond the public API: decode uploaded images,
turn request records into `Collection.add` records, and show results safely (no server paths,
bounded texts, citations). The shapes are `responses`, derived from `latentsearch.results`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import fields, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image

from latentsearch.encoders.images import decode
from latentsearch.errors import ImageError
from latentsearch.query.citations import cite
from latentsearch.results import Hit, Item, Source
from latentsearch.server.schemas import RecordIn
from latentsearch.server.snippets import preview

# A search answer carries each hit's text up to HIT_TEXT_CHARS characters, and all of them
# together up to RESPONSE_TEXT_CHARS (shared out evenly, at least MIN_HIT_TEXT_CHARS each): a
# search over megabyte documents answers in kilobytes. A cut text has ``text_truncated``; the
# whole item is GET /collections/{name}/items/{id}.
HIT_TEXT_CHARS = 2_000
RESPONSE_TEXT_CHARS = 200_000
MIN_HIT_TEXT_CHARS = 200
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


def decode_image(data: str, field: str) -> tuple[Image.Image, bytes, str]:
    """A base64 image, checked (the limits of `encoders.images`): the image, its bytes, its
    file extension."""
    try:
        raw = base64.b64decode(
            data.split(",", 1)[1] if data.startswith("data:") else data, validate=True
        )
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"{field}: not valid base64 ({exc})") from exc
    img, fmt = decode(raw, field)
    ext = IMAGE_FORMATS.get(fmt or "", "")
    if not ext:
        raise ImageError(f"{field}: unsupported image format {fmt!r}; use PNG, JPEG or WebP")
    return img, raw, ext


def decode_images(images: dict[str, str] | None) -> dict[str, Image.Image]:
    """The request's named images (``image:NAME`` terms), decoded."""
    return {n: decode_image(b, f"images.{n}")[0] for n, b in (images or {}).items()}


def store_image(folder: Path, raw: bytes, ext: str) -> Path:
    """Keep an uploaded image under its content hash (idempotent) and return its path."""
    path = folder / f"{hashlib.sha256(raw).hexdigest()}.{ext}"
    if not path.exists():
        tmp = path.with_suffix(f".{ext}.tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return path


def record(rec: RecordIn, i: int, uploads: Path) -> dict[str, Any]:
    out: dict[str, Any] = rec.model_dump(exclude_none=True, exclude={"image", "source", "chunk"})
    if rec.image is not None:
        _, raw, ext = decode_image(rec.image, f"records.{i}.image")
        out["image"] = str(store_image(uploads, raw, ext))
    if rec.source is not None:
        out["source"] = rec.source.model_dump(exclude_none=True)
    if rec.chunk is not None:
        out["chunk"] = rec.chunk.model_dump()
    return out


def public_uri(uri: str | None, index: Path, doc_ids: tuple[str, ...]) -> str | None:
    """A source URI a client may see: never an absolute server path.

    A ``file:`` URI becomes a path relative to the index folder, or the document's id when the
    path ends with it (a build names documents by their path under the build root), else None.
    Other URIs (``https:`` ...) are shown as written.
    """
    if uri is None or uri[:5].lower() != "file:":
        return uri
    path = os.path.normpath(unquote(urlsplit(uri).path))
    root = os.path.normpath(index)
    if path.startswith(root + os.sep):
        return PurePosixPath(os.path.relpath(path, root)).as_posix()
    for doc in doc_ids:
        rel = PurePosixPath(doc)
        if doc and not rel.is_absolute() and ".." not in rel.parts and path.endswith("/" + doc):
            return doc
    return None


def public_model(model: str | None) -> str | None:
    """An encoder's name for clients: a model folder's basename, never its server path."""
    if model is None or not os.path.isabs(model):
        return model  # a name or hub id such as "sentence-transformers/all-MiniLM-L6-v2"
    return os.path.basename(os.path.normpath(model)) or None


def _doc_ids(x: Hit | Item) -> tuple[str, ...]:
    return (x.chunk.parent, x.id) if x.chunk is not None else (x.id,)


def _shown(x: Hit | Item, index: Path) -> dict[str, Any]:
    """The fields of ``x`` a client may see: an image item's text (its server path) is hidden
    and the source URI made public (`public_uri`)."""
    return {f.name: getattr(x, f.name) for f in fields(x)} | {
        "text": x.text if x.kind == "text" else None,
        "source": Source(public_uri(x.source.uri, index, _doc_ids(x)), x.source.title),
    }


def hits_out(hits: list[Hit], query_text: str | None, index: Path) -> list[dict[str, Any]]:
    """The hits of one answer (`responses.HitOut`), their texts capped (see `HIT_TEXT_CHARS`)."""
    share = RESPONSE_TEXT_CHARS // max(len(hits), 1)
    limit = max(MIN_HIT_TEXT_CHARS, min(HIT_TEXT_CHARS, share))
    return [hit_out(h, query_text, index, text_limit=limit) for h in hits]


def hit_out(
    hit: Hit, query_text: str | None, index: Path, *, text_limit: int = HIT_TEXT_CHARS
) -> dict[str, Any]:
    """One hit as `responses.HitOut`: its text cut to ``text_limit``, and its citation."""
    out = _shown(hit, index)
    text = out["text"]
    truncated = text is not None and len(text) > text_limit
    c = cite(hit, query_text)
    return out | {
        "score": float(hit.score),
        "text": text[:text_limit] if truncated else text,
        "text_truncated": truncated,
        "citation": replace(c, uri=public_uri(c.uri, index, _doc_ids(hit))),
        "preview": preview(hit, query_text, citation=c),
    }


def item_out(item: Item, index: Path) -> dict[str, Any]:
    """One item as `responses.ItemOut`."""
    return _shown(item, index)
