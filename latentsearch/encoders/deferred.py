"""An encoder that loads its model only when a query is not on disk (the command line's).

Loading a model costs seconds; a ``latentsearch search`` process embeds one query and exits. A
`DeferredEncoder` stands in for the collection's recorded encoder: a query text found in the
index folder's `QueryVectorFile` is answered from there, and anything else (a new text, an image,
a batch, an attribute of the model) builds the real encoder first, exactly as
``get_encoder(spec, ...)`` would have.

The file is keyed by `plan_space_key`: everything that decides the bytes of an embedding, found
without loading the model (the model's fingerprint, the backend and device the real encoder would
pick, normalisation, the runtime's version, the exported graph and the CPU). Only one text
embedded on its own is stored or looked up: a text embedded within a batch can differ in the last
bits (padding changes the kernels' blocking), and a hit must be the very vector the model gives.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from latentsearch.device import resolve_device
from latentsearch.encoders.base import Encoder, EncoderIdentity, ImageLike
from latentsearch.encoders.export import META, export_dir
from latentsearch.encoders.query_file import QueryVectorFile
from latentsearch.encoders.st import fingerprint, resolve_encoder_backend, resolve_model
from latentsearch.errors import EncoderMismatchError

# Libraries whose version can change an embedding's bytes, per backend.
_RUNTIME = {
    "torch": ("torch", "sentence-transformers", "transformers", "tokenizers"),
    "onnx": ("onnxruntime", "tokenizers"),
    "onnx-int8": ("onnxruntime", "tokenizers"),
    "openvino": ("openvino", "tokenizers"),
}


def plan_space_key(spec: str, *, device: str, backend: str | None, normalize: bool) -> str:
    """The space key of ``get_encoder(spec, device=, backend=, normalize=)``, without loading it."""
    _, folder = resolve_model(spec)
    dev = resolve_device(device, what="encoder")
    chosen = resolve_encoder_backend(backend, folder=folder, device=dev)
    print_ = fingerprint(folder)
    parts = [print_, chosen, dev, "unit" if normalize else "raw", *_versions(chosen), _cpu()]
    if chosen != "torch":
        parts.append(_export_stamp(print_, chosen))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _versions(backend: str) -> list[str]:
    out = []
    for dist in _RUNTIME.get(backend, ()):
        try:
            out.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{dist}: none")
    return out


def _export_stamp(print_: str, backend: str) -> str:
    """Which export a non-torch backend reads: another export (made again) is another space."""
    folder = export_dir(print_, "onnx-int8" if backend == "onnx-int8" else "onnx")
    try:
        st = [(folder / name).stat() for name in (META, "model.onnx")]
    except OSError:
        return "no export yet"
    return " ".join(f"{s.st_size}:{s.st_mtime_ns}" for s in st)


@cache
def _cpu() -> str:
    """The CPU model and its instruction sets (OpenVINO computes in bf16 where the CPU can)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            first = f.read().split("\n\n")[0].splitlines()  # the first processor
        wanted = [ln for ln in first if ln.startswith(("model name", "flags", "Features"))]
        return platform.machine() + " " + hashlib.sha256("\n".join(wanted).encode()).hexdigest()
    except OSError:
        return f"{platform.machine()} {platform.processor()} {platform.node()}"


class DeferredEncoder(Encoder):
    """The encoder ``build()`` returns, built on first need; single query texts found in
    ``vectors`` under ``plan()``'s key need no model.

    ``identity`` is the collection's recorded identity; ``build()`` must return an encoder in
    that same space (checked). ``plan`` is called again after a build (which may have exported
    the model), and a vector is stored only under the key of the encoder that made it.
    """

    def __init__(
        self,
        identity: EncoderIdentity,
        build: Callable[[], Encoder],
        plan: Callable[[], str],
        vectors: QueryVectorFile,
    ) -> None:
        self.identity = identity
        self._build = build
        self._plan = plan
        self._vectors = vectors
        self._real: Encoder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """True once the real encoder (and its model) has been built."""
        return self._real is not None

    def real(self) -> Encoder:
        """The real encoder, built on first call."""
        with self._lock:
            if self._real is None:
                enc = self._build()
                if not self.identity.same_space(enc.identity):
                    raise EncoderMismatchError(
                        f"the encoder built for {self.identity.model} has fingerprint "
                        f"{enc.identity.fingerprint}, not the recorded {self.identity.fingerprint}"
                    )
                self.identity = replace(self.identity, backend=enc.identity.backend)
                self._real = enc
            return self._real

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1 or not isinstance(texts[0], str):
            return self.real().encode_queries(texts)
        (text,) = texts
        if not self.loaded:
            found = self._vectors.get(self._plan(), text, self.dim)
            if found is not None:
                return found.reshape(1, -1)
        out = self.real().encode_texts([text])  # alone, as the stored vector must be
        self._vectors.put(self._plan(), text, out[0])  # planned again: the build may have exported
        return out

    def encode_texts(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self.real().encode_texts(texts, show_progress=show_progress)

    def encode_images(
        self, images: Sequence[ImageLike], *, show_progress: bool = False
    ) -> np.ndarray:
        return self.real().encode_images(images, show_progress=show_progress)

    def __getattr__(self, name: str) -> Any:
        """Anything else (``model``, ``backend``, ``device``...) is the real encoder's."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.real(), name)


def deferred(
    identity: EncoderIdentity,
    *,
    folder: Path,
    device: str,
    backend: str | None,
    batch_size: int,
    writable: bool,
) -> DeferredEncoder:
    """A `DeferredEncoder` for a collection recorded with ``identity``, whose vectors live in
    ``folder`` (an index folder), built as `Database` builds encoders."""
    from latentsearch.encoders import get_encoder

    def plan() -> str:
        return plan_space_key(
            identity.spec, device=device, backend=backend, normalize=identity.normalize
        )

    def build() -> Encoder:
        return get_encoder(
            identity.spec,
            device=device,
            batch_size=batch_size,
            normalize=identity.normalize,
            backend=backend,
        )

    return DeferredEncoder(identity, build, plan, QueryVectorFile(folder, writable=writable))
