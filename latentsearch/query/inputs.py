"""Turning what callers pass (text, images, vectors, item ids, saved directions) into vectors.

Two reading rules for a plain ``str``:

* as a *query* (`search`, `search_batch`) it is always text to embed;
* as a *term* (analogy, recommend, interpolate, direction, and bare words in expressions) it is the
  stored vector of the item whose id equals it, when the caller may see such an item, and text to
  embed otherwise. Items used this way count as inputs (analogy excludes them from the results).

``{"id": ...}`` always means an item: one that is missing or invisible to the caller raises the
same `ItemNotFoundError`, so nothing is revealed about items the caller may not see.

Images by name (``image:NAME`` in expressions, ``{"image": NAME}``, a `Path`) are looked up in an
`ImageSources`: first the images given with the request, then, only if it allows paths, a local
file. The server resolves with `NO_PATHS`, so no request can make it open a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from latentsearch.encoders.images import decode, load_image
from latentsearch.errors import (
    DirectionNotFoundError,
    ImageError,
    InvalidInputError,
    ItemNotFoundError,
    NonFiniteVectorError,
    UnsupportedModalityError,
)
from latentsearch.query.hits import visible_vectors
from latentsearch.query.space import Space
from latentsearch.store import directions
from latentsearch.store.acl import Access
from latentsearch.vectors import check_vectors, unit_rows

KINDS = ("text", "word", "id", "image", "vector", "direction")


@dataclass(frozen=True, slots=True)
class Spec:
    """An unresolved term: ``kind`` is one of `KINDS`; ``label`` names it in ``hit.why``."""

    kind: str
    value: Any
    label: str

    @property
    def key(self) -> tuple[str, Any]:
        """A hashable identity (arrays and PIL images by object identity)."""
        hashable = isinstance(self.value, str | Path)
        return (self.kind, self.value if hashable else id(self.value))


@dataclass(frozen=True, slots=True)
class ImageSources:
    """Where a named image term comes from: ``named`` (PIL images or encoded bytes sent with the
    request) first, then a local file, but only when ``allow_paths`` (the caller owns the disk)."""

    named: Mapping[str, Image.Image | bytes] = field(default_factory=dict)
    allow_paths: bool = True

    def load(self, value: str | Path | Image.Image, label: str) -> Image.Image:
        """The decoded RGB image a term names, within the limits of `encoders.images`."""
        if isinstance(value, Image.Image):
            return load_image(value)
        name = str(value)
        if isinstance(value, str) and name in self.named:
            return _named(self.named[name], label)
        if self.allow_paths:
            return load_image(Path(value))
        # The same message for every name, and no file is touched: nothing about the disk leaks.
        raise ImageError(
            f"{label}: no image named {name!r} was sent with this request; an image term names "
            "an item you can see (image:@id) or an image in the request's 'images'"
        )


LOCAL = ImageSources()
NO_PATHS = ImageSources(allow_paths=False)


def image_sources(images: Mapping[str, Any] | None, allow_paths: bool) -> ImageSources:
    """Check a caller's ``images=`` mapping (names to PIL images or encoded bytes)."""
    if images is None:
        return ImageSources(allow_paths=bool(allow_paths))
    if not isinstance(images, Mapping):
        raise InvalidInputError("images must be a mapping of names to PIL images or image bytes")
    for name, img in images.items():
        if not isinstance(name, str) or not name or name.startswith("@"):
            raise InvalidInputError(
                f"image names must be non-empty strings not starting with '@', not {name!r}"
            )
        if not isinstance(img, Image.Image | bytes):
            raise InvalidInputError(
                f"images[{name!r}] must be a PIL image or image bytes, not {type(img).__name__}"
            )
    return ImageSources(dict(images), allow_paths=bool(allow_paths))


def _named(img: Image.Image | bytes, label: str) -> Image.Image:
    return load_image(img) if isinstance(img, Image.Image) else decode(img, label)[0]


@dataclass(frozen=True, slots=True)
class Term:
    """A resolved term: its vector (unit length in cosine collections) and item, if it is one."""

    label: str
    vector: np.ndarray
    item: int | None = None


def as_query(q: Any) -> Spec:
    """A `search` query: text, PIL image, image path, vector or ``{"id": ...}``."""
    if isinstance(q, str):
        return Spec("text", q, q)
    return _common(q, "query")


def as_term(t: Any) -> Spec:
    """An analogy / recommend / interpolation term (a ``str`` is an item id if one is visible, else text)."""
    if isinstance(t, str):
        return Spec("word", t, t)
    return _common(t, "term")


def _common(q: Any, what: str) -> Spec:
    if isinstance(q, Image.Image):
        return Spec("image", q, "<image>")
    if isinstance(q, Path):
        return Spec("image", q, f"image:{q}")  # a local file (only where paths are allowed)
    if isinstance(q, Mapping) and len(q) == 1:
        ((key, value),) = q.items()
        if key == "id" and isinstance(value, str):
            return Spec("id", value, f"@{value}")
        if key == "text" and isinstance(value, str):
            return Spec("text", value, value)
        if key == "image" and isinstance(value, str | Path | Image.Image):
            return Spec("image", value, f"image:{value}")  # a name: see `ImageSources`
        if key == "vec" and isinstance(value, str):
            return Spec("direction", value, f"vec:{value}")
    if isinstance(q, np.ndarray | list | tuple) and not isinstance(q, str):
        return Spec("vector", q, "<vector>")
    raise InvalidInputError(
        f"cannot use a {type(q).__name__} as a {what}: give text, a PIL image, a pathlib.Path to an "
        "image, a numpy vector, {'id': ...}, {'text': ...}, {'image': path} or {'vec': name}"
    )


def term_list(v: Any) -> list[Any]:
    """Terms as a list; one bare term (``"king"``, a vector, a dict) counts as a list of one."""
    if v is None:
        return []
    if isinstance(v, str | Mapping | np.ndarray | Path | Image.Image) or not isinstance(
        v, Sequence
    ):
        return [v]
    return list(v)


def resolve(
    space: Space, specs: Sequence[Spec], acc: Access, images: ImageSources = LOCAL
) -> list[Term]:
    """Vectors for every spec, batched: one SQL lookup, one encoder call per modality.

    Image terms are read through ``images`` (the server passes `NO_PATHS`)."""
    names = [sp.value for sp in specs if sp.kind in ("id", "word")]
    rows: dict[str, tuple[int, np.ndarray]] = {}
    with space.store.session() as s:
        if names:
            rows = _unit_rows(space, visible_vectors(s, space.collection_id, names, acc, space.dim))
        wanted = sorted({sp.value for sp in specs if sp.kind == "direction"})
        saved = directions.load(s, space.collection_id, wanted) if wanted else {}
    for name in wanted:
        if name not in saved:
            raise DirectionNotFoundError(
                f"no direction named {name!r} in collection {space.name!r}; save one with "
                f"col.direction(positive=[...], negative=[...], name={name!r})"
            )
    out: list[Term | None] = [None] * len(specs)
    texts: dict[str, list[int]] = {}
    image_idx: list[int] = []
    for i, sp in enumerate(specs):
        if sp.kind in ("id", "word") and sp.value in rows:
            pk, vec = rows[sp.value]
            out[i] = Term(sp.label, vec, pk)
        elif sp.kind == "id":
            raise ItemNotFoundError(f"no item with id {sp.value!r} in collection {space.name!r}")
        elif sp.kind in ("text", "word"):
            texts.setdefault(_text(space, sp), []).append(i)
        elif sp.kind == "image":
            image_idx.append(i)
        elif sp.kind == "direction":
            out[i] = Term(sp.label, _unit(space, saved[sp.value], sp.label))
        else:
            out[i] = Term(sp.label, _vector(space, sp.value, sp.label))
    if texts:
        encoded = space.encoder().encode_queries(list(texts))
        for vec, idx in zip(encoded, texts.values(), strict=True):
            for i in idx:
                out[i] = Term(specs[i].label, _unit(space, vec, specs[i].label))
    if image_idx:
        if not space.can_embed:
            raise UnsupportedModalityError(_raw(space, "images"))
        encoder = space.encoder()
        if not encoder.supports_images:
            encoder.encode_images([])  # raises the "embeds text only" error before any file is read
        pictures = [images.load(specs[i].value, specs[i].label) for i in image_idx]
        encoded = encoder.encode_images(pictures)
        for i, vec in zip(image_idx, encoded, strict=True):
            out[i] = Term(specs[i].label, _unit(space, vec, specs[i].label))
    return [t for t in out if t is not None]


def _unit_rows(
    space: Space, rows: dict[str, tuple[int, np.ndarray]]
) -> dict[str, tuple[int, np.ndarray]]:
    """`_unit` for every stored vector at once (a zero or non-finite one raises as `_unit` does)."""
    if not rows:
        return rows
    mat = np.stack([v for _, v in rows.values()]).astype(np.float32, copy=False)
    bad = ~np.isfinite(mat).all(axis=1)
    if space.metric == "cosine" and not bad.any():
        mat, zero = unit_rows(mat)  # overflow-safe (stored values up to float32's maximum)
        bad = zero
    if bad.any():
        name = list(rows)[int(np.flatnonzero(bad)[0])]
        _unit(space, rows[name][1], name)  # raises the usual error
    return {name: (pk, mat[i]) for i, (name, (pk, _)) in enumerate(rows.items())}


def _text(space: Space, sp: Spec) -> str:
    if not isinstance(sp.value, str) or not sp.value.strip():
        raise InvalidInputError("the query text is empty")
    if not space.can_embed:
        if sp.kind == "word":
            raise ItemNotFoundError(
                f"no item with id {sp.value!r} in collection {space.name!r} (it stores raw vectors, "
                "so text cannot be embedded instead)"
            )
        raise UnsupportedModalityError(_raw(space, "text"))
    return str(sp.value)


def _raw(space: Space, what: str) -> str:
    return f"collection {space.name!r} stores raw vectors (no encoder); it cannot embed {what}: pass vectors or item ids"


def _vector(space: Space, value: Any, label: str) -> np.ndarray:
    # check_vectors refuses complex, bool, str and object arrays (no cast first: a float32 cast
    # would drop imaginary parts) and scales float64 beyond float32's range for cosine.
    v = check_vectors(value, space.dim, f"{label}: query vector", rescale=space.metric == "cosine")
    if len(v) != 1:
        raise InvalidInputError(
            f"{label}: expected one vector, got {len(v)}; use search_batch for several"
        )
    return _unit(space, v[0], label)


def unit_queries(space: Space, block: np.ndarray) -> np.ndarray:
    """What `resolve` makes of each row of a checked float32 ``block`` given as a vector query,
    for all rows at once: the same errors and bit for bit the same vectors (each row's norm is
    its own ``dot``, as `numpy.linalg.norm` computes it), without a `Spec` and `Term` per row."""
    finite = bool(np.isfinite(block).all())
    if finite and space.metric != "cosine":
        return block
    if finite:
        with np.errstate(over="ignore", under="ignore"):  # such rows take unit's scaled path
            norms = np.sqrt(np.asarray([r.dot(r) for r in block], dtype=np.float32))
        if (np.isfinite(norms) & (norms >= 1e-18)).all():
            out: np.ndarray = block / norms[:, None]
            return out
    # A row to refuse, or to scale first: row by row, as `resolve` does (the same first error).
    return np.stack([_unit(space, r, "<vector>") for r in block])


def _unit(space: Space, v: np.ndarray, label: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if not np.isfinite(v).all():
        raise NonFiniteVectorError(f"{label}: the vector contains NaN or infinity")
    if space.metric != "cosine":
        return v
    return unit(v, label)


def unit(v: np.ndarray, what: str = "vector") -> np.ndarray:
    """``v`` scaled to unit length as float32, without overflow (a float32 norm overflows from
    about 1.8e19; see `latentsearch.vectors`). `InvalidInputError` for a zero or non-finite one."""
    v = np.asarray(v)
    with np.errstate(over="ignore", under="ignore"):  # such vectors take the scaled path
        norm = float(np.linalg.norm(v))
    if math.isfinite(norm) and norm >= 1e-18:
        return (v / norm).astype(np.float32)  # the ordinary case, exactly as before
    row = np.asarray(v, dtype=np.float32).reshape(1, -1)
    if not np.isfinite(row).all():
        raise InvalidInputError(f"{what}: the vector contains NaN or infinity")
    out, zero = unit_rows(row)
    if zero.any():
        raise InvalidInputError(
            f"{what}: a zero vector has no direction; cosine similarity is undefined"
        )
    shaped: np.ndarray = out[0].reshape(v.shape).astype(np.float32)
    return shaped


def check_weight(w: Any, what: str) -> float:
    """A finite float weight, or `InvalidInputError` (NaN and infinity included)."""
    if isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating):
        raise InvalidInputError(f"{what} must be a number, not {w!r}")
    f = float(w)
    if not math.isfinite(f):
        raise InvalidInputError(f"{what} must be finite, not {w!r}")
    return f
