"""Device choice in one place: ``"auto" | "cpu" | "cuda"``, logged."""

from __future__ import annotations

import logging
from functools import cache
from typing import Literal

from latentsearch.errors import DeviceError

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]


@cache
def torch_cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


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
