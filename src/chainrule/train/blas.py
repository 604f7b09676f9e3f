"""NumPy's own BLAS, for the one product NumPy does not offer: C ← C + α·AᵀB in place.

`np.matmul` always overwrites its output, so an SGD update costs a product into a buffer and then
a pass over the weights to subtract it. BLAS gemm does both at once (β = 1). This module finds
the OpenBLAS that NumPy's wheels load (its CBLAS symbols carry a `scipy_` prefix and a `64_`
suffix: 64-bit integers) and calls its gemm through ctypes; the same library as NumPy's own
products, so that no second pool of BLAS threads competes with NumPy's for the cores. Where that
library is not found (another BLAS, another platform) `update_weights` says so by returning
False and the caller subtracts as before.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_NAMES = {np.dtype(np.float32): "cblas_sgemm", np.dtype(np.float64): "cblas_dgemm"}


@functools.cache
def _openblas() -> ctypes.CDLL | None:
    """NumPy's bundled OpenBLAS, already loaded into this process (None when there is none)."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.rsplit(" ", 1)[-1]
        if "openblas" in path and Path(path).parent == libs:
            return ctypes.CDLL(path)
    return None


@functools.cache
def _gemm(dtype: np.dtype) -> Callable[..., None] | None:
    lib, name = _openblas(), _NAMES.get(np.dtype(dtype))
    if lib is None or name is None:
        return None
    symbol = getattr(lib, f"scipy_{name}64_", None)
    if symbol is None:
        return None
    real = ctypes.c_float if np.dtype(dtype) == np.float32 else ctypes.c_double
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    symbol.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        i64,
        i64,
        i64,
        real,
        ptr,
        i64,
        ptr,
        i64,
        real,
        ptr,
        i64,
    ]
    symbol.restype = None
    return symbol


def available(dtype: np.dtype) -> bool:
    """Whether `update_weights` can work in place for arrays of this dtype."""
    return _gemm(np.dtype(dtype)) is not None


def update_weights(w: np.ndarray, d: np.ndarray, a: np.ndarray, alpha: float) -> bool:
    """w ← w + α·dᵀa in place (w: units × fan-in, d: batch × units, a: batch × fan-in, all
    C-contiguous, one dtype). Returns False, changing nothing, when it cannot."""
    gemm = _gemm(w.dtype)
    ok = all(x.flags.c_contiguous and x.dtype == w.dtype for x in (d, a)) and w.flags.c_contiguous
    if gemm is None or not ok or not w.flags.writeable:
        return False
    (units, fan_in), batch = w.shape, d.shape[0]
    if d.shape != (batch, units) or a.shape != (batch, fan_in):
        raise ValueError(f"update_weights: shapes {w.shape}, {d.shape}, {a.shape} do not fit")
    gemm(_ROW_MAJOR, _TRANS, _NO_TRANS, units, fan_in, batch, alpha, d.ctypes.data, units, a.ctypes.data, fan_in, 1.0,
         w.ctypes.data, fan_in)  # fmt: skip
    return True
