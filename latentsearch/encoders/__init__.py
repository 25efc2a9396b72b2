"""Encoders turn texts and images into vectors, and record which latent space they live in.

A factory maps the ``encoder=`` argument of `create_collection` to an encoder:

* ``"text"``: the bundled all-MiniLM-L6-v2 (no network needed);
* ``"clip"``: a sentence-transformers CLIP model (``clip-ViT-B-32``, from the local cache);
* any sentence-transformers model name (from the local cache) or a local folder.

``backend=`` picks the runtime (see `latentsearch.encoders.backends`): ``"auto"`` (default),
``"torch"``, ``"onnx"``, ``"onnx-int8"`` or ``"openvino"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentsearch.lazy import exports

if TYPE_CHECKING:
    from latentsearch.encoders.backends import BACKENDS, DEFAULT_BACKEND
    from latentsearch.encoders.base import Encoder, EncoderIdentity, ImageLike
    from latentsearch.encoders.images import load_image
    from latentsearch.encoders.st import SentenceTransformerEncoder, bundled_text_model

# Loaded on first use (PEP 562): numpy, PIL and the model runtimes stay out of commands that
# never embed (``latentsearch --help``, a rebuild with nothing new).
_EXPORTS: dict[str, str] = {
    "BACKENDS": "latentsearch.encoders.backends",
    "DEFAULT_BACKEND": "latentsearch.encoders.backends",
    "Encoder": "latentsearch.encoders.base",
    "EncoderIdentity": "latentsearch.encoders.base",
    "ImageLike": "latentsearch.encoders.base",
    "SentenceTransformerEncoder": "latentsearch.encoders.st",
    "bundled_text_model": "latentsearch.encoders.st",
    "load_image": "latentsearch.encoders.images",
}


__getattr__, __dir__ = exports(__name__, _EXPORTS)


def get_encoder(
    spec: str,
    *,
    device: str = "auto",
    batch_size: int = 64,
    normalize: bool = True,
    backend: str | None = None,
) -> Encoder:
    """Build the encoder for an ``encoder=`` spec (see the module docstring)."""
    from latentsearch.encoders.st import SentenceTransformerEncoder

    return SentenceTransformerEncoder(
        spec, device=device, batch_size=batch_size, normalize=normalize, backend=backend
    )


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Encoder",
    "EncoderIdentity",
    "ImageLike",
    "SentenceTransformerEncoder",
    "bundled_text_model",
    "get_encoder",
    "load_image",
]
