"""GPU placement: a read-only clone of the CPU index on the GPU(s), made on demand.

The CPU index is the one that is mutated and saved. When the index's device (given explicitly
as ``"cpu"`` or ``"cuda"``, resolved by `latentsearch.device`) is ``"cuda"``, searches run on a
clone, which every change drops and the next search makes again. Each time a search cannot use
the clone, the reason is logged: exactness matters more than speed.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from latentsearch.device import faiss_num_gpus
from latentsearch.index.primitives import faiss

log = logging.getLogger(__name__)

GPU_MAX_K = 2048  # FAISS GPU indexes answer at most this many neighbours per query


class GpuPlacement:
    """Where one index is searched: its GPU clone when usable, else the CPU index."""

    def __init__(self, device: Literal["cpu", "cuda"], spec: str) -> None:
        self.device = device
        self.spec = spec
        self.clone: Any = None  # the GPU copy, made by the first search that can use it
        self.unusable = False  # the spec has no GPU implementation (e.g. HNSW)

    @property
    def active(self) -> bool:
        """True when searches without a selector go to the GPU (while the CPU index allows)."""
        return self.device == "cuda" and not self.unusable

    def drop(self) -> None:
        """Forget the clone: the CPU index changed (the next search clones it again)."""
        self.clone = None

    def searchable(self, cpu: Any, needs_selector: bool, k: int = 1) -> Any:
        """The index to search: the GPU clone of ``cpu`` when usable, else ``cpu`` (and say why)."""
        if not self.active:
            return cpu
        if k > GPU_MAX_K:
            log.debug(
                "k=%d is above the FAISS GPU limit (%d): searching the CPU index", k, GPU_MAX_K
            )
            return cpu
        if needs_selector:
            # FAISS GPU indexes (outside cuVS builds) ignore or reject ID selectors: exactness
            # matters more than speed, so filtered searches and tombstones run on the CPU copy.
            log.debug("ID selector in use: searching the CPU index instead of the GPU clone")
            return cpu
        if self.clone is None:
            try:
                co = faiss.GpuMultipleClonerOptions()
                co.shard = faiss_num_gpus() > 1
                self.clone = faiss.index_cpu_to_all_gpus(cpu, co=co)
                log.info("cloned %s to %d GPU(s)", self.spec, faiss_num_gpus())
            except RuntimeError as exc:  # e.g. HNSW has no GPU implementation
                log.warning("%s cannot run on the GPU (%s); searching on the CPU", self.spec, exc)
                self.unusable = True
                return cpu
        return self.clone
