"""Encoder backends: which runtime runs a text model, and what ``backend="auto"`` picks.

* ``"torch"``: sentence-transformers on PyTorch, float32 (any model, CPU or GPU);
* ``"onnx"``: ONNX Runtime, float32, from a local export of the model (CPU, text models);
* ``"onnx-int8"``: ONNX Runtime with int8 weights (dynamic per-channel quantisation of that export);
* ``"openvino"``: the OpenVINO runtime, reading the same local ONNX export (float32 weights;
  OpenVINO computes in bfloat16 on CPUs with AVX512-BF16 or AMX, its default there).

``"auto"`` (the default), for text models on the CPU, is the fastest of ``openvino``, ``onnx``
and (where its Cranfield nDCG@10 was verified within 1% of float32) ``onnx-int8``, measured once
per machine at first use and cached (`latentsearch.encoders.autotune`); `DEFAULT_BACKEND` where
no measurement can be made. It is ``"torch"`` on a GPU and for models the export does not cover
(CLIP, images). The ``LATENTSEARCH_ENCODER_BACKEND`` environment variable sets the backend where
no argument does; an explicit backend is never overridden.

Every backend of one model embeds into the same latent space (the same fingerprint): a collection
built with one opens with any other. OpenVINO vectors differ from torch's by a cosine of ~1e-4;
int8 ones by ~0.01 (0.991x torch's Cranfield nDCG@10), so mixing them costs at most that much.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path

from latentsearch.errors import EncoderBackendError

log = logging.getLogger(__name__)

ENV_VAR = "LATENTSEARCH_ENCODER_BACKEND"
AUTO = "auto"
DEFAULT_BACKEND = "openvino"
BACKENDS: dict[str, str] = {
    "torch": "PyTorch float32 (sentence-transformers as is)",
    "onnx": "ONNX Runtime float32 (local ONNX export)",
    "onnx-int8": "ONNX Runtime int8 weights (dynamic per-channel quantisation)",
    "openvino": "OpenVINO (reads the local ONNX export; bf16 matmuls where the CPU has them)",
}
# Python modules each backend needs at run time (importable name -> pip name).
_RUNTIME: dict[str, dict[str, str]] = {
    "torch": {},
    "onnx": {"onnxruntime": "onnxruntime"},
    "onnx-int8": {"onnxruntime": "onnxruntime"},
    "openvino": {"openvino": "openvino"},
}
# What the one-time export needs besides torch: the ONNX exporter writes through `onnx`. (The
# optional graph optimiser and the int8 quantiser come with onnxruntime.)
EXPORT_NEEDS: dict[str, str] = {"onnx": "onnx"}
_EXPORTABLE = {"Transformer", "Pooling", "Normalize", "Dense"}
_warned: list[str] = []


def missing(modules: dict[str, str]) -> list[str]:
    """The pip names of the modules in ``modules`` that cannot be imported here."""
    return [pip for mod, pip in modules.items() if importlib.util.find_spec(mod) is None]


def exportable(folder: Path) -> bool:
    """True for a text model made only of modules the ONNX export covers (not CLIP)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(str(m.get("type", "")).rsplit(".", 1)[-1] in _EXPORTABLE for m in modules)


def runtime_missing(backend: str) -> list[str]:
    """The pip names a backend needs that are not installed here."""
    return missing(_RUNTIME[backend])


def requested(backend: str | None) -> str:
    """The backend asked for: the argument, else the environment variable, else ``"auto"``."""
    name = backend or os.environ.get(ENV_VAR) or AUTO
    if name != AUTO and name not in BACKENDS:
        raise EncoderBackendError(
            f"unknown encoder backend {name!r}; use one of: {AUTO}, {', '.join(BACKENDS)}"
        )
    return name


def resolve_backend(backend: str | None, *, folder: Path, device: str) -> str:
    """The backend for a model folder on a resolved device (``"cpu"`` or ``"cuda"``).

    Concrete, except ``"auto"`` for a text model on the CPU with a runtime to choose from: that
    choice is measured (`latentsearch.encoders.autotune`, through
    `latentsearch.encoders.st.resolve_encoder_backend`, which every encoder uses).
    """
    name = requested(backend)
    if name == AUTO:
        if device != "cpu" or not exportable(folder):
            return "torch"
        need = sorted({p for b in ("openvino", "onnx") for p in runtime_missing(b)})
        if len(need) == 2:  # neither openvino nor onnxruntime: nothing to choose from
            if not _warned:
                _warned.append(DEFAULT_BACKEND)  # once per process, not once per collection
                log.warning(
                    "encoder backend auto needs openvino or onnxruntime, and neither is "
                    "installed; using torch (pip install openvino)"
                )
            return "torch"
        return AUTO  # measured by `latentsearch.encoders.st.resolve_encoder_backend`
    if name == "torch":
        return name
    if device != "cpu":
        raise EncoderBackendError(
            f"encoder backend {name!r} runs on the CPU only; use backend='torch' with device={device!r}"
        )
    if not exportable(folder):
        raise EncoderBackendError(
            f"encoder backend {name!r} supports text models made of Transformer, Pooling, "
            f"Normalize and Dense modules; the model in {folder} is not one (use backend='torch')"
        )
    need = missing(_RUNTIME[name])
    if need:
        raise EncoderBackendError(
            f"encoder backend {name!r} needs {', '.join(need)}: pip install {' '.join(need)} "
            "(or use backend='torch')"
        )
    return name
