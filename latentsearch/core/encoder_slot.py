"""`EncoderSlot`: a collection's encoder, given when it is opened or loaded on first use."""

from __future__ import annotations

import threading

from latentsearch.encoders import Encoder, EncoderIdentity, get_encoder
from latentsearch.errors import EncoderError, EncoderMismatchError, InvalidInputError


class EncoderSlot:
    """Holds one collection's encoder. Shared by the `Collection` (and its parts, which ask it
    through `get`) and the `Database` that opened it (which may `offer` one later).

    Loading the model is deferred until something needs encoding, since it is the slow part of
    opening a collection; the loaded encoder is checked against the recorded ``identity``.
    """

    def __init__(
        self,
        name: str,
        dim: int,
        identity: EncoderIdentity | None,
        encoder: Encoder | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
        backend: str | None = None,
        query_cache_size: int | None = None,
    ) -> None:
        self.name = name
        self.dim = dim
        self.identity = identity
        self.device = device
        self.batch_size = batch_size
        self.backend = backend
        self.query_cache_size = query_cache_size
        self._encoder = encoder
        self._lock = threading.Lock()  # one load, however many threads ask at once

    @property
    def loaded(self) -> Encoder | None:
        """The encoder if one was given or loaded already (nothing is loaded here)."""
        return self._encoder

    def offer(self, encoder: Encoder | None) -> None:
        """Use ``encoder`` (already checked against the identity) unless one is in use."""
        if self._encoder is None and encoder is not None:
            self._encoder = encoder

    def get(self) -> Encoder:
        """The encoder, loaded on first use and checked against the recorded identity."""
        if self._encoder is not None:
            return self._encoder
        if self.identity is None:
            raise EncoderError(
                f"collection {self.name!r} stores raw vectors (dim={self.dim}); "
                "pass numpy vectors, not text or images"
            )
        with self._lock:
            if self._encoder is None:
                enc = get_encoder(
                    self.identity.spec,
                    device=self.device,
                    batch_size=self.batch_size,
                    normalize=self.identity.normalize,
                    backend=self.backend,
                )
                check_identity(self.name, self.identity, enc.identity)
                if self.query_cache_size is not None:
                    enc.query_cache.resize(self.query_cache_size)
                self._encoder = enc
            return self._encoder


def check_identity(name: str, recorded: EncoderIdentity, given: EncoderIdentity) -> None:
    """Refuse an encoder whose latent space is not the one the collection was built in."""
    if not recorded.same_space(given):
        raise EncoderMismatchError(
            f"collection {name!r} was built with {recorded.model} (dim {recorded.dim}, "
            f"fingerprint {recorded.fingerprint}); the encoder given is {given.model} (dim "
            f"{given.dim}, fingerprint {given.fingerprint}). Vectors from different models never "
            "mix: open it with the original encoder, or create a new collection."
        )


def build_encoder(
    encoder: str | Encoder | None,
    dim: int | None,
    device: str,
    *,
    normalize: bool,
    batch_size: int,
    backend: str | None,
    query_cache_size: int,
) -> Encoder | None:
    """The encoder an ``encoder=`` argument names (None with ``dim=`` alone: raw vectors),
    checked against ``dim`` when both are given."""
    if isinstance(encoder, Encoder):
        if dim is not None and dim != encoder.dim:
            raise InvalidInputError(f"dim={dim} but the encoder produces {encoder.dim}-d vectors")
        return encoder
    if encoder is None:
        if dim is not None:
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise InvalidInputError(f"dim must be a positive integer, not {dim!r}")
            return None
        encoder = "text"
    if not isinstance(encoder, str):
        raise InvalidInputError(
            f"encoder must be a string or an Encoder, not {type(encoder).__name__}"
        )
    enc = get_encoder(
        encoder, device=device, batch_size=batch_size, normalize=normalize, backend=backend
    )
    enc.query_cache.resize(query_cache_size)
    if dim is not None and dim != enc.dim:
        raise InvalidInputError(
            f"dim={dim} but {encoder!r} produces {enc.dim}-d vectors; leave dim out"
        )
    return enc
