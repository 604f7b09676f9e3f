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

import contextlib
import ctypes
import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_NAMES = {np.dtype(np.float32): "cblas_sgemm", np.dtype(np.float64): "cblas_dgemm"}


def _loaded_openblas(folder: str) -> ctypes.CDLL | None:
    """The OpenBLAS this process has loaded from a wheel's bundled-library folder (numpy.libs,
    scipy.libs), or None."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.rsplit(" ", 1)[-1]
        if "openblas" in path and Path(path).parent.name == folder:
            return ctypes.CDLL(path)
    return None


@functools.cache
def _openblas() -> ctypes.CDLL | None:
    """NumPy's bundled OpenBLAS, already loaded into this process (None when there is none)."""
    return _loaded_openblas("numpy.libs")


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


# -- the compiled loop's products ---------------------------------------------------------------
# numba's matrix products call SciPy's OpenBLAS (a second library beside NumPy's), with as many
# threads as there are cores unless OPENBLAS_NUM_THREADS says otherwise. The compiled loop calls it
# for products of at most ~50M multiply-adds between stretches of compiled code, and there its
# threads cost far more than they bring: measured on 2 cores, 2 threads against 1 took 784-256-10
# at batch 64 from 0.58 to 1.92 s an epoch, 2-256-256-1 at batch 256 from 2.1 to 4.8–6.4 ms an
# update, at batch 32 from 0.32 to 1.34 ms. So the compiled loop runs them on one thread.


@functools.cache
def _scipy_openblas() -> ctypes.CDLL | None:
    """SciPy's bundled OpenBLAS (loading it, as numba's products will), or None where there is none."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (what numba's products call)
    except ImportError:
        return None
    lib = _loaded_openblas("scipy.libs")
    if lib is None or not hasattr(lib, "scipy_openblas_set_num_threads"):
        return None
    return lib if hasattr(lib, "scipy_openblas_get_num_threads") else None


@contextlib.contextmanager
def one_thread_for_compiled_products() -> Iterator[None]:
    """SciPy's OpenBLAS on one thread while the compiled loop runs, as it was after (see above)."""
    lib = _scipy_openblas()
    if lib is None:
        yield
        return
    before = lib.scipy_openblas_get_num_threads()
    if before != 1:
        lib.scipy_openblas_set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            lib.scipy_openblas_set_num_threads(before)
