"""Vector argument checks and overflow-safe normalisation, shared by writes and queries (a leaf).

* Vectors are real numbers: integer or floating dtypes. Complex, boolean, string and object
  arrays are refused (casting them would silently drop imaginary parts or guess at meaning; a
  caller who means 0/1 writes ``.astype(np.float32)``).
* Everything is stored as float32. A row of finite values beyond float32's range (|x| > 3.4e38,
  e.g. float64 ``1e300``) is scaled by its largest magnitude first where only its direction
  counts (``rescale=True``: cosine collections), and refused otherwise.
* `check_vectors` turns any caller's vectors into the ``(n, dim)`` float32 array that the index,
  the writers and the queries all use, with one set of error messages.
* `unit_rows` scales rows to unit length without overflow or underflow: a float32 norm overflows
  from about 1.8e19 and loses precision below about 1e-19, so such rows are divided by their
  largest magnitude before their norm is taken. Ordinary rows are computed exactly as a plain
  ``block / norm`` (content hashes of stored vectors stay the same).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentsearch.errors import DimensionMismatchError, InvalidInputError

F32_MAX = float(np.finfo(np.float32).max)
_SAFE_MIN_NORM = 1e-18  # above this a float32 sum of squares stays in the normal range

REAL_KINDS = "iuf"


def real_array(x: Any, what: str) -> np.ndarray:
    """``x`` as a numpy array of real numbers (any int or float dtype), or `InvalidInputError`."""
    try:
        arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be numeric: {exc}") from exc
    if arr.dtype.kind not in REAL_KINDS:
        raise InvalidInputError(
            f"{what} must hold real numbers (an int or float dtype), not dtype {arr.dtype}; "
            "complex, boolean, string and object arrays are not vectors"
        )
    return arr


def check_vectors(x: Any, dim: int, what: str = "vectors", *, rescale: bool = False) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 ``(n, dim)`` array or raise a clear error.

    Real numbers only (see `real_array`); a 1-d ``x`` is one vector. A row of finite values
    beyond float32's range is scaled down by its largest magnitude with ``rescale`` (where only
    directions count), and refused otherwise.
    """
    arr = real_array(x, what)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise InvalidInputError(f"{what} must be a 2-d array (n, {dim}), got shape {arr.shape}")
    if arr.shape[1] != dim:
        raise DimensionMismatchError(
            f"{what} have dimension {arr.shape[1]}, but this collection stores {dim}-d vectors"
        )
    return to_float32(arr, rescale=rescale, what=lambda row: f"{what} (row {row})")


def to_float32(
    block: np.ndarray, *, rescale: bool, what: Callable[[int], str] | str = "vectors"
) -> np.ndarray:
    """A 2-d real ``block`` as C-contiguous float32, rows beyond float32's range scaled by their
    largest magnitude (``rescale``) or refused with `InvalidInputError` naming ``what(row)``."""
    if block.dtype.kind == "f" and block.dtype.itemsize > 4 and block.size:
        with np.errstate(invalid="ignore"):
            peak = np.abs(block).max(axis=1)
        big = np.isfinite(peak) & (peak > F32_MAX)
        if big.any() and not rescale:
            row = int(np.flatnonzero(big)[0])
            name = what(row) if callable(what) else what
            raise InvalidInputError(
                f"{name} has values beyond the float32 range (±{F32_MAX:.4g}) in which "
                "vectors are stored; scale it down"
            )
        # Where only the direction counts, rows that would overflow, or lose precision as
        # float32 subnormals, are scaled to a largest magnitude of 1 first, in their own dtype.
        odd = big | ((peak > 0) & (peak < _SAFE_MIN_NORM)) if rescale else big
        if odd.any():
            block = block.copy()
            block[odd] /= peak[odd, None]
    return np.ascontiguousarray(block, dtype=np.float32)


def unit_rows(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float32 rows scaled to unit length, and a mask of the rows that are zero (left zero).

    Rows must be finite.
    """
    with np.errstate(over="ignore", under="ignore"):  # such rows take the scaled path below
        norms = np.linalg.norm(block, axis=1)
    ok = np.isfinite(norms) & (norms >= _SAFE_MIN_NORM)
    if ok.all():
        return block / norms[:, None], np.zeros(len(block), dtype=bool)
    out = np.zeros_like(block)
    out[ok] = block[ok] / norms[ok, None]
    odd = np.flatnonzero(~ok)
    rows = block[odd]
    peak = np.abs(rows).max(axis=1) if rows.shape[1] else np.zeros(len(rows), block.dtype)
    zero = np.zeros(len(block), dtype=bool)
    zero[odd[peak == 0]] = True
    live = peak > 0
    scaled = rows[live] / peak[live, None]  # largest magnitude 1: no overflow, no underflow
    out[odd[live]] = scaled / np.linalg.norm(scaled, axis=1)[:, None]
    return out, zero
