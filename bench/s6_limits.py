"""S6's machine limits: memory read bandwidth and sgemm GFLOP/s, at one thread and all threads.

* Bandwidth: ``numpy.sum`` over a float32 array 16× the last-level cache or more (512 MiB; 256 MiB
  with ``quick``), one thread, and the array split in one slice per core summed by a thread pool
  (numpy releases the GIL in reductions): a STREAM-like read. Best of several passes.
* sgemm: ``A @ B`` on square float32 matrices with numpy's BLAS, and the same product through the
  ``sgemm_`` of the OpenBLAS that FAISS links (found by threadpoolctl), which is what FAISS's flat
  search calls for batches of 20 queries or more. One thread and all threads (threadpoolctl, and
  ``faiss.omp_set_num_threads`` for FAISS's OpenMP-threaded OpenBLAS). Best of several.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np


def _best(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bandwidth(mib: int, threads: int, repeat: int = 5) -> float:
    """GB/s read by summing a ``mib`` MiB float32 array with ``threads`` threads."""
    a = np.ones(mib * 2**20 // 4, dtype=np.float32)
    parts = np.array_split(a, threads)
    with ThreadPoolExecutor(threads) as pool:
        s = _best(lambda: list(pool.map(np.sum, parts)), repeat)
    return a.nbytes / s / 1e9


def _faiss_sgemm() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    """FAISS's own OpenBLAS ``sgemm_`` as C = A @ B (row-major), or None where not found."""
    import faiss  # noqa: F401  (loads its BLAS)
    from threadpoolctl import threadpool_info

    paths = [
        p["filepath"]
        for p in threadpool_info()
        if p["user_api"] == "blas" and "faiss" in p["filepath"]
    ]
    if not paths:
        return None
    lib = ctypes.CDLL(paths[0])
    c_int, c_float, ref = ctypes.c_int, ctypes.c_float, ctypes.byref

    def sgemm(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        # Column-major BLAS: C^T = B^T @ A^T, so pass B first (FAISS's FINTEGER is int).
        m, k = a.shape
        n = b.shape[1]
        no = ctypes.c_char_p(b"N")
        lib.sgemm_(
            no, no, ref(c_int(n)), ref(c_int(m)), ref(c_int(k)), ref(c_float(1.0)),
            b.ctypes.data_as(ctypes.c_void_p), ref(c_int(n)),
            a.ctypes.data_as(ctypes.c_void_p), ref(c_int(k)), ref(c_float(0.0)),
            c.ctypes.data_as(ctypes.c_void_p), ref(c_int(n)),
        )  # fmt: skip

    return sgemm


def sgemm(size: int, threads: int, repeat: int = 3) -> dict[str, float]:
    """GFLOP/s of a ``size``³ float32 product: numpy's BLAS and FAISS's."""
    import faiss
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    c = np.empty((size, size), dtype=np.float32)
    flops = 2 * size**3
    out = {}
    with threadpool_limits(threads):
        out["numpy"] = flops / _best(lambda: np.matmul(a, b, out=c), repeat) / 1e9
    fs = _faiss_sgemm()
    if fs is not None:
        default = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(threads)
        with threadpool_limits(threads):
            fs(a, b, c)
            if not np.allclose(c, a @ b, rtol=1e-3, atol=1e-2):
                raise RuntimeError("FAISS's sgemm_ gave a wrong product: calling convention?")
            out["faiss_blas"] = flops / _best(lambda: fs(a, b, c), repeat) / 1e9
        faiss.omp_set_num_threads(default)
    return out


def bf16_gemm(size: int, threads: int, repeat: int = 3) -> float | None:
    """GFLOP/s of a ``size``³ bfloat16 product through torch (oneDNN), or None without torch.

    The limit to hold a bf16 encoder against: OpenVINO runs its matmuls in bf16 on CPUs with
    AVX512-BF16 or AMX, where it can pass the fp32 sgemm limit without being any closer to its own.
    """
    try:
        import torch
    except ImportError:
        return None
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.rand(size, size, dtype=torch.bfloat16)
        b = torch.rand(size, size, dtype=torch.bfloat16)
        return 2 * size**3 / _best(lambda: torch.matmul(a, b), repeat) / 1e9
    finally:
        torch.set_num_threads(before)


def limits(quick: bool = False) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    mib, size = (256, 2048) if quick else (512, 4096)
    bw = {t: bandwidth(mib, t) for t in sorted({1, cores})}
    sg = {t: sgemm(size, t) for t in sorted({1, cores})}
    best_bw_t = max(bw, key=lambda t: bw[t])
    best_sg = max(((v, t, lib) for t, d in sg.items() for lib, v in d.items()), default=(0, 0, ""))
    bf16 = {t: bf16_gemm(size, t) for t in sorted({1, cores})}
    return {
        "bandwidth_gbs": bw[best_bw_t],
        "bandwidth_how": f"numpy sum of {mib} MiB, {best_bw_t} thread(s)",
        "sgemm_gflops": best_sg[0],
        "sgemm_how": f"{best_sg[2]} sgemm {size}³, {best_sg[1]} thread(s)",
        "bandwidth_by_threads": bw,
        "sgemm_by_threads": sg,
        "bf16_gflops": max((v for v in bf16.values() if v), default=None),
        "bf16_how": f"torch bfloat16 matmul {size}³",
        "detail": (
            "read GB/s "
            + ", ".join(f"{t} thread(s) {v:.1f}" for t, v in bw.items())
            + "; sgemm GFLOP/s "
            + ", ".join(
                f"{lib} {t} thread(s) {v:.0f}" for t, d in sg.items() for lib, v in d.items()
            )
            + "".join(f"; bf16 {t} thread(s) {v:.0f}" for t, v in bf16.items() if v)
        ),
    }
