"""MaxPool2d and AvgPool2d against PyTorch autograd and finite differences, over random kernels,
strides and paddings; max-pool ties go to the first maximum of the window, as in PyTorch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d
from chainrule.errors import ChainruleError
from shaped import ELEMENTWISE, assert_op_matches_differences, assert_op_matches_torch, torch_grads


@st.composite
def pools(draw: st.DrawFn, kind: type) -> tuple[MaxPool2d | AvgPool2d, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = None if draw(st.booleans()) else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    rows = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 7))
    cols = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 7))
    act = ACTIVATIONS[draw(st.sampled_from(ELEMENTWISE))]
    x = rng.normal(size=(draw(st.integers(1, 3)), draw(st.integers(1, 3)), rows, cols))
    return kind("p", kernel, stride, padding, act), x, rng


@settings(max_examples=60)
@given(st.sampled_from([MaxPool2d, AvgPool2d]).flatmap(pools))
def test_pooling_matches_torch(case: tuple[MaxPool2d | AvgPool2d, np.ndarray, np.random.Generator]) -> None:
    op, x, rng = case
    assert op.forward(x).a.shape[1:] == op.out_shape(x.shape[1:])
    assert_op_matches_torch(op, x, rng)


@settings(max_examples=30)
@given(st.sampled_from([MaxPool2d, AvgPool2d]).flatmap(pools))
def test_pooling_matches_finite_differences(
    case: tuple[MaxPool2d | AvgPool2d, np.ndarray, np.random.Generator],
) -> None:
    op, x, rng = case
    assert_op_matches_differences(op, x, rng, h=1e-7)


@settings(max_examples=40)
@given(pools(MaxPool2d), st.sampled_from([0.0, 1.5, -2.0]))
def test_max_pool_ties_go_to_the_first_maximum_as_in_torch(case: tuple, value: float) -> None:
    """An input of equal values: each window's gradient goes to its top-left element (in the
    unpadded input), exactly where PyTorch sends it."""
    op, x, rng = case
    op, x = replace(op, activation=ACTIVATIONS["identity"]), np.full_like(x, value)
    cache = op.forward(x)
    upstream = rng.normal(size=cache.a.shape)
    d_x, _ = op.backward(upstream, cache)
    _, t_dx, _ = torch_grads(op, x, upstream)
    assert np.array_equal(d_x, t_dx)
    assert cache.extra["winners"][0, 0, 0, 0].tolist() == [0, 0]  # the first window's first real input


def test_max_pool_routes_and_average_pool_spreads() -> None:
    x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    d_x, _ = MaxPool2d("m", (2, 2)).backward(np.array([[[[5.0]]]]), MaxPool2d("m", (2, 2)).forward(x))
    assert d_x.tolist() == [[[[0.0, 5.0], [0.0, 0.0]]]]  # the first 3 in row-major order wins
    d_x, _ = AvgPool2d("a", (2, 2)).backward(np.array([[[[4.0]]]]), AvgPool2d("a", (2, 2)).forward(x))
    assert d_x.tolist() == [[[[1.0, 1.0], [1.0, 1.0]]]]
    assert torch.nn.functional.max_pool2d(torch.tensor(x), 2).item() == 3.0


def test_a_padding_over_half_the_kernel_is_refused() -> None:
    with pytest.raises(
        ChainruleError, match=r"^layer m: expected a padding at most half the kernel \[2, 2\], got \[2, 0\]$"
    ):
        MaxPool2d("m", (2, 2), padding=(2, 0)).out_shape((1, 4, 4))
