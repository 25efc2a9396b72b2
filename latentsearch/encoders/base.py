"""The one encoder interface, and the identity recorded in each collection's SQL row."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from latentsearch.encoders.cache import EmbeddingCache
from latentsearch.errors import UnsupportedModalityError

ImageLike = str | Path | Image.Image
_cache_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class EncoderIdentity:
    """Which latent space vectors live in.

    ``spec`` is how to load the encoder again (``"text"``, ``"clip"``, a model name or a path);
    ``fingerprint`` is a hash of the model's files, so the same weights match wherever they live.
    ``backend`` is the runtime that embedded with it (``"torch"``, ``"onnx"``, ``"onnx-int8"``,
    ``"openvino"``): recorded for transparency, not part of the space, since every backend of one
    model embeds into the same space.
    """

    kind: str  # "text" | "clip" | "none"
    spec: str
    model: str
    fingerprint: str
    dim: int
    normalize: bool
    modalities: tuple[str, ...]
    backend: str = "torch"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["modalities"] = list(self.modalities)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncoderIdentity:
        return cls(**{**d, "modalities": tuple(d.get("modalities", ()))})

    def same_space(self, other: EncoderIdentity) -> bool:
        """True when vectors from both encoders may share one index (whatever their backends)."""
        return (self.fingerprint, self.dim, self.normalize) == (
            other.fingerprint,
            other.dim,
            other.normalize,
        )


class Encoder(ABC):
    """Turns texts (and, where it can, images) into float32 vectors of a fixed dimension."""

    identity: EncoderIdentity
    _query_cache: EmbeddingCache | None = None

    @property
    def query_cache(self) -> EmbeddingCache:
        """This encoder's LRU of query embeddings (see `latentsearch.encoders.cache`)."""
        if self._query_cache is None:
            with _cache_lock:
                if self._query_cache is None:
                    self._query_cache = EmbeddingCache()
        return self._query_cache

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """`encode_texts` for search queries: each distinct text not in the cache is embedded
        once (in one call), and repeated texts come from the cache. Same vectors, same errors."""
        cache = self.query_cache
        if not cache.maxsize or not all(isinstance(t, str) for t in texts):
            return self.encode_texts(texts)
        space = self.identity  # part of every key: a vector only ever serves its own space
        found = {t: v for t in dict.fromkeys(texts) if (v := cache.get((space, t))) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = self.encode_texts(missing)
            for t, v in zip(missing, fresh, strict=True):
                found[t] = cache.put((space, t), v)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    @property
    def dim(self) -> int:
        return self.identity.dim

    @property
    def supports_images(self) -> bool:
        return "image" in self.identity.modalities

    @abstractmethod
    def encode_texts(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed texts; returns an ``(n, dim)`` float32 array."""

    def encode_images(
        self, images: Sequence[ImageLike], *, show_progress: bool = False
    ) -> np.ndarray:
        """Embed images; returns an ``(n, dim)`` float32 array."""
        raise UnsupportedModalityError(
            f"the encoder {self.identity.model!r} embeds text only; "
            "create the collection with encoder='clip' (or another CLIP model) to use images"
        )
