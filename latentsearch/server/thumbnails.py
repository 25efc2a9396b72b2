"""Thumbnails of image items for the page: the item's stored image scaled down with Pillow.

The path is the item's own (what `Collection.add` stored), never one a request names; the file
is read within the image limits of `latentsearch.encoders.images`. Thumbnails are cached in
memory by path, modification time and size, so a page of results costs one decode per image.
"""

from __future__ import annotations

import functools
import io
import os

from PIL import Image

from latentsearch.encoders.images import decode, read_image_file

THUMB_MIN = 16
THUMB_MAX = 1024
_CACHE_ENTRIES = 512  # at most ~512 small JPEGs (tens of KB each at 256 px)


def thumbnail(path: str, size: int) -> tuple[bytes, str]:
    """The image at ``path`` fitted into ``size`` x ``size`` pixels: JPEG bytes and media type.

    Raises `latentsearch.errors.ImageError` for an unreadable or oversized file."""
    st = os.stat(path)
    return _cached(path, st.st_mtime_ns, st.st_size, size), "image/jpeg"


@functools.lru_cache(maxsize=_CACHE_ENTRIES)
def _cached(path: str, mtime_ns: int, nbytes: int, size: int) -> bytes:
    del mtime_ns, nbytes  # cache keys only: a changed file is a new entry
    img, _ = decode(read_image_file(path), "image")
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85, optimize=True)
    return buf.getvalue()
