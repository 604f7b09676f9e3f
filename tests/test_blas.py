"""blas.update_weights: W ← W + α·δᵀa in place, through the BLAS NumPy itself loads."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.train import blas


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_update_equals_numpy_in_place(dtype: type, rtol: float) -> None:
    rng = np.random.default_rng(1)
    w, d, a = (rng.normal(size=shape).astype(dtype) for shape in [(70, 50), (9, 70), (9, 50)])
    expected = w.astype(np.float64) - 0.3 * (d.astype(np.float64).T @ a.astype(np.float64))
    before = w.ctypes.data
    assert blas.available(np.dtype(dtype))
    assert blas.update_weights(w, d, a, -0.3)
    assert w.ctypes.data == before and w.dtype == dtype
    np.testing.assert_allclose(w, expected, rtol=rtol, atol=rtol)


def test_what_it_cannot_do_it_leaves_alone() -> None:
    rng = np.random.default_rng(2)
    w, d, a = rng.normal(size=(6, 4)), rng.normal(size=(3, 6)), rng.normal(size=(3, 8))[:, ::2]
    kept = w.copy()
    assert not blas.update_weights(w, d, a, -1.0)  # a is a strided view
    assert not blas.update_weights(w, d.astype(np.float32), np.ascontiguousarray(a), -1.0)  # mixed dtypes
    assert not blas.available(np.dtype(np.int64))
    np.testing.assert_array_equal(w, kept)
    with pytest.raises(ValueError, match="do not fit"):
        blas.update_weights(w, d, np.ones((3, 5)), -1.0)


def test_the_compiled_loops_products_run_on_one_thread_and_the_setting_comes_back() -> None:
    """SciPy's OpenBLAS (numba's products) with 2 threads ran the compiled loop 2–8× slower than
    with one; the loop now sets one thread while it runs and restores the caller's setting."""
    from chainrule.train import blas as train_blas

    lib = train_blas._scipy_openblas()
    assert lib is not None  # SciPy's wheels bundle OpenBLAS, and the test extra installs SciPy
    before = lib.scipy_openblas_get_num_threads()
    lib.scipy_openblas_set_num_threads(2)
    try:
        with train_blas.one_thread_for_compiled_products():
            assert lib.scipy_openblas_get_num_threads() == 1
        assert lib.scipy_openblas_get_num_threads() == 2
    finally:
        lib.scipy_openblas_set_num_threads(before)
