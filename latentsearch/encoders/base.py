"""The one encoder interface, and the identity recorded in each collection's SQL row."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from latentsearch.errors import UnsupportedModalityError

ImageLike = str | Path | Image.Image


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
