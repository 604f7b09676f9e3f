"""Conv2d against PyTorch autograd and central finite differences, over random shapes, strides and
paddings; its two backward rules (correlation, full convolution with the flipped kernel) by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.layers.conv import Conv2d, correlate, full_convolution
from chainrule.errors import ChainruleError
from shaped import ELEMENTWISE, assert_op_matches_differences, assert_op_matches_torch


@st.composite
def convolutions(draw: st.DrawFn) -> tuple[Conv2d, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    rows = draw(st.integers(max(1, kh - 2 * padding[0]), 7))
    cols = draw(st.integers(max(1, kw - 2 * padding[1]), 7))
    cin, cout, n = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bias = rng.normal(size=cout) if draw(st.booleans()) else np.zeros(0)
    act = ACTIVATIONS[draw(st.sampled_from(ELEMENTWISE))]
    op = Conv2d("c", rng.normal(size=(cout, cin, kh, kw)), bias, stride, padding, act)
    return op, rng.normal(size=(n, cin, rows, cols)), rng


@settings(max_examples=60)
@given(convolutions())
def test_conv2d_matches_torch(case: tuple[Conv2d, np.ndarray, np.random.Generator]) -> None:
    op, x, rng = case
    assert op.forward(x).a.shape[1:] == op.out_shape(x.shape[1:])
    assert_op_matches_torch(op, x, rng)


@settings(max_examples=30)
@given(convolutions())
def test_conv2d_matches_finite_differences(case: tuple[Conv2d, np.ndarray, np.random.Generator]) -> None:
    op, x, rng = case
    assert_op_matches_differences(op, x, rng)


def test_the_two_rules_by_hand() -> None:
    """A 3×3 input, a 2×2 kernel: ∂L/∂W is the input correlated with δ; ∂L/∂x is δ fully convolved
    with the kernel turned 180°, so an unflipped kernel gives a different (wrong) answer."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    d_z = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])  # only z[0,0] matters
    assert correlate(x, d_z, (2, 2), (1, 1))[0, 0].tolist() == [[1.0, 2.0], [4.0, 5.0]]
    d_x = full_convolution(d_z, w, (1, 1), (3, 3))[0, 0]
    assert d_x.tolist() == [[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]
    d_z = np.array([[[[0.0, 0.0], [0.0, 1.0]]]])  # only z[1,1]: the kernel lands on the bottom right
    d_x = full_convolution(d_z, w, (1, 1), (3, 3))[0, 0]
    assert d_x.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 3.0, 4.0]]


def test_an_input_smaller_than_the_kernel_is_refused() -> None:
    op = Conv2d("c1", np.zeros((1, 2, 3, 3)), np.zeros(1))
    with pytest.raises(ChainruleError, match=r"^layer c1: expected an input of at least 3×3 once padded, got 2×5$"):
        op.out_shape((2, 2, 5))
    with pytest.raises(ChainruleError, match=r"layer c1: expected an input of shape \[2, height, width\]"):
        op.out_shape((3, 4, 4))
