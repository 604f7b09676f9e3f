"""GELU in the engine: SciPy's vectorized erf gives math.erf's numbers, and PyTorch's."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine import activations
from chainrule.engine.activations import ACTIVATIONS

GELU = ACTIVATIONS["gelu"]
# A wide range: the tails where erf is ±1 in float64, ±40 (where φ is clipped), 0, and tiny values
# down to the smallest subnormal, of both signs.
TINY = np.geomspace(5e-324, 1e-3, 400)
Z = np.concatenate([np.linspace(-40.0, 40.0, 20_001), TINY, -TINY, [0.0, -0.0, 1e-300, -1e-300]])


def _by_math_erf(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GELU and its derivative number by number with math.erf: z·Φ(z) and Φ(z) + z·φ(z)."""
    values, slopes = [], []
    for v in z.tolist():
        phi_cdf = 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))
        zc = min(max(v, -40.0), 40.0)
        density = math.exp(-0.5 * zc * zc) / math.sqrt(2.0 * math.pi)
        values.append(v * phi_cdf)
        slopes.append(phi_cdf + v * density)
    return np.array(values), np.array(slopes)


def _assert_close(got: np.ndarray, expected: np.ndarray) -> None:
    # Absolute 1e-15: in the left tail 1 + erf cancels, and there one unit in the last place of
    # erf (either library's) is a large relative change of a number near 0.
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)


def test_gelu_and_its_derivative_equal_math_erf_over_a_wide_range() -> None:
    import scipy.special

    assert activations._erf_function() is scipy.special.erf  # the vectorized erf is the one tested
    values, slopes = _by_math_erf(Z)
    value = GELU.value(Z, None)
    _assert_close(value, values)
    _assert_close(GELU.derivative(Z, value, None), slopes)
    assert value.dtype == np.float64 and np.all(np.signbit(value[Z == 0.0]) == np.signbit(Z[Z == 0.0]))


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_gelu_equals_math_erf_for_any_numbers(numbers: list[float]) -> None:
    z = np.array(numbers)
    values, slopes = _by_math_erf(z)
    _assert_close(GELU.value(z, None), values)
    _assert_close(GELU.derivative(z, None, None), slopes)


def test_nan_and_infinities_behave_as_with_math_erf() -> None:
    z = np.array([np.nan, np.inf, -np.inf])
    values, slopes = _by_math_erf(z)
    with np.errstate(invalid="ignore"):  # −inf·0: NumPy warns, as it did before
        np.testing.assert_array_equal(GELU.value(z, None), values)  # nan, inf, nan
        np.testing.assert_array_equal(GELU.derivative(z, None, None), slopes)
    assert np.isinf(values[1]) and np.isnan(values[2])


def test_gelu_equals_pytorch_float64() -> None:
    z = torch.tensor(np.linspace(-12.0, 12.0, 4001), dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.gelu(z, approximate="none")
    (slope,) = torch.autograd.grad(out.sum(), z)
    zn = z.detach().numpy()
    np.testing.assert_allclose(GELU.value(zn, None), out.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(GELU.derivative(zn, None, None), slope.numpy(), rtol=1e-14, atol=1e-15)


def test_without_scipy_erf_falls_back_to_math_erf(monkeypatch: pytest.MonkeyPatch) -> None:
    activations._erf_function.cache_clear()
    try:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, "scipy.special", None)  # `from scipy.special import erf` fails
            assert activations._erf_function() is activations._erf_by_number
            values, slopes = _by_math_erf(Z)
            np.testing.assert_array_equal(GELU.value(Z, None), values)
            _assert_close(GELU.derivative(Z, None, None), slopes)
    finally:
        activations._erf_function.cache_clear()
    assert activations._erf_function() is not activations._erf_by_number


def test_float32_input_gives_float64_as_before() -> None:
    """z/√2 in float32 as before, erf in float64 (math.erf's type), so float64 out."""
    z = np.linspace(-3, 3, 7, dtype=np.float32)
    before = z * (0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(z / math.sqrt(2.0))))
    assert GELU.value(z, None).dtype == np.float64
    _assert_close(GELU.value(z, None), before)


def test_explaining_the_example_does_not_import_scipy() -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom chainrule.cli.root import main\n"
        "r = CliRunner().invoke(main, [])\nassert r.exit_code == 0, r.output\n"
        "assert 'scipy' not in sys.modules, 'scipy imported'\n"
        "r = CliRunner().invoke(main, ['functions', 'gelu', '0.5'])\nassert r.exit_code == 0, r.output\n"
        "assert 'scipy.special' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
