"""Loading images from paths or PIL objects, with typed errors for missing or corrupt files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from latentsearch.encoders.base import ImageLike
from latentsearch.errors import ImageError


def load_image(image: ImageLike) -> Image.Image:
    """Return a fully decoded RGB image, or raise `ImageError` saying what is wrong."""
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if not isinstance(image, str | Path):
        raise ImageError(
            f"an image must be a file path or a PIL.Image.Image, not {type(image).__name__}"
        )
    path = Path(image)
    try:
        with Image.open(path) as img:
            img.load()  # decode now, so truncated files fail here and not inside the encoder
            return img.convert("RGB")
    except FileNotFoundError as exc:
        raise ImageError(f"image file not found: {path}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot read image {path}: {exc}. Is the file a valid image?") from exc


def image_hash(image: Image.Image) -> str:
    """Content hash of decoded pixels (so re-saving the same picture is 'unchanged')."""
    h = hashlib.sha256()
    h.update(f"{image.mode}:{image.size}".encode())
    h.update(image.tobytes())
    return h.hexdigest()
