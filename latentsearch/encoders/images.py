"""Loading images from paths, bytes or PIL objects, with typed errors and one set of limits.

The limits here (`MAX_PIXELS`, `MAX_IMAGE_BYTES`) are the only ones: local paths (Python API,
CLI) and uploads (HTTP) are held to the same. A path is read only if it is a regular file (a
FIFO or device could block or have side effects), and every failure to read one gives the same
message, so the error says nothing about what exists on the disk.

`protect` names files that must never be opened as images in this process: an SQLite database
in use. Closing any file descriptor on it drops all of this process's POSIX locks on it, after
which another process may delete the WAL that a live connection still uses.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from latentsearch.encoders.base import ImageLike
from latentsearch.errors import ImageError

MAX_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 64 << 20

_protected: set[str] = set()
_protected_lock = threading.Lock()
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
    ZeroDivisionError,
)


def protect(*paths: str | Path) -> None:
    """Never open these files (by real path, or the same inode) as images in this process."""
    with _protected_lock:
        _protected.update(os.path.realpath(p) for p in paths)


def unreadable(path: str | Path) -> ImageError:
    """The one error for an image path that cannot be used, whatever the reason."""
    return ImageError(
        f"cannot read an image from {str(path)!r}: give a readable regular file holding a PNG, "
        f"JPEG, WebP, GIF or BMP image of at most {MAX_PIXELS} pixels and {MAX_IMAGE_BYTES} bytes"
    )


def load_image(image: ImageLike) -> Image.Image:
    """Return a fully decoded RGB image, or raise `ImageError` saying what is wrong."""
    if isinstance(image, Image.Image):
        check_size(image.width, image.height, "the image")
        return image if image.mode == "RGB" else image.convert("RGB")
    if not isinstance(image, str | Path):
        raise ImageError(
            f"an image must be a file path or a PIL.Image.Image, not {type(image).__name__}"
        )
    raw = read_image_file(image)
    try:
        return decode(raw, "the image")[0]
    except ImageError as exc:
        raise unreadable(image) from exc


def read_image_file(path: str | Path) -> bytes:
    """The bytes of a regular file of at most `MAX_IMAGE_BYTES`, or `unreadable(path)`.

    Stat first (a FIFO or device is never opened), open non-blocking, and stat the open file
    again so a file swapped in between is caught too.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or _is_protected(path, st):
            raise unreadable(path)
        if st.st_size > MAX_IMAGE_BYTES:
            raise unreadable(path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise unreadable(path) from exc
    with os.fdopen(fd, "rb") as f:
        try:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_IMAGE_BYTES:
                raise unreadable(path)
            data = f.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise unreadable(path) from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise unreadable(path)
    return data


def decode(raw: bytes, what: str) -> tuple[Image.Image, str | None]:
    """Decode image bytes within the limits: the RGB image and its format (e.g. ``"PNG"``)."""
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageError(f"{what}: larger than {MAX_IMAGE_BYTES} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            check_size(img.width, img.height, what)
            img.load()  # decode now, so truncated data fails here and not inside the encoder
            fmt = img.format
            return img.convert("RGB"), fmt
    except ImageError:
        raise
    except (*_DECODE_ERRORS, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{what}: not a readable image ({exc})") from exc


def check_size(width: int, height: int, what: str) -> None:
    """`ImageError` for an empty image or one over `MAX_PIXELS` (checked before decoding)."""
    if width <= 0 or height <= 0:
        raise ImageError(f"{what} is empty ({width}x{height} pixels)")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{what} is too large ({width}x{height}; at most {MAX_PIXELS} pixels)")


def image_hash(image: Image.Image) -> str:
    """Content hash of decoded pixels (so re-saving the same picture is 'unchanged')."""
    h = hashlib.sha256()
    h.update(f"{image.mode}:{image.size}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def _is_protected(path: str | Path, st: os.stat_result) -> bool:
    with _protected_lock:
        protected = list(_protected)
    if not protected:
        return False
    if os.path.realpath(path) in protected:
        return True
    for p in protected:  # a hard link to a protected file is the same file
        try:
            other = os.stat(p)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False
