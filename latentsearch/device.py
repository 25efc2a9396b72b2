"""Device choice in one place: ``"auto" | "cpu" | "cuda"``, logged."""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from functools import cache
from pathlib import Path
from typing import Literal

from latentsearch.errors import DeviceError

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]


@cache
def torch_cuda_available() -> bool:
    if "torch" not in sys.modules and _torch_is_cpu_build():
        return False  # known without importing torch (seconds): a command that embeds nothing
    import torch

    return bool(torch.cuda.is_available())


def _torch_is_cpu_build() -> bool:
    """True when the installed torch was built without CUDA or ROCm, read from its
    ``torch/version.py`` (``cuda = None``, ``hip = None``) without importing torch."""
    try:
        spec = importlib.util.find_spec("torch")
        folders = list(spec.submodule_search_locations or ()) if spec else []
        text = (Path(folders[0]) / "version.py").read_text(encoding="utf-8") if folders else ""
    except (OSError, ImportError, ValueError):
        return False  # unknown: ask torch itself
    builds = re.findall(r"^(cuda|hip)\b[^=\n]*=\s*(.+?)\s*$", text, re.MULTILINE)
    return len(builds) == 2 and all(value == "None" for _, value in builds)


@cache
def faiss_num_gpus() -> int:
    import faiss

    return int(faiss.get_num_gpus())


def resolve_device(device: str = "auto", *, what: str = "encoder") -> Literal["cpu", "cuda"]:
    """Turn ``"auto"|"cpu"|"cuda"`` into a concrete device and log the choice.

    ``what`` is ``"encoder"`` (torch) or ``"index"`` (FAISS); they are checked separately,
    since a machine can have a CUDA torch but a CPU-only FAISS, or the reverse.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    available = torch_cuda_available() if what == "encoder" else faiss_num_gpus() > 0
    if device == "cuda" and not available:
        raise DeviceError(
            f"device='cuda' was asked for the {what}, but no CUDA GPU is usable here; "
            "use device='auto' or device='cpu'"
        )
    chosen: Literal["cpu", "cuda"] = (
        "cuda" if device == "cuda" or (device == "auto" and available) else "cpu"
    )
    log.info("%s device: %s (asked %r)", what, chosen, device)
    return chosen
