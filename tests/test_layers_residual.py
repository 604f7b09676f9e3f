"""Residual blocks of every op against PyTorch autograd and finite differences: the skip's gradient
is added to the inner path's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.layers.base import Op
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.norm import BatchNorm
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d
from chainrule.engine.layers.residual import Residual
from chainrule.errors import ChainruleError
from shaped import ELEMENTWISE, assert_op_matches_differences, assert_op_matches_torch


def shape_keeping_op(rng: np.random.Generator, shape: tuple[int, ...], k: int) -> Op:
    """A random op whose output has the shape of its input."""
    act = ACTIVATIONS[str(rng.choice(ELEMENTWISE))]
    c = shape[0]
    norm = BatchNorm(
        f"bn{k}",
        rng.normal(size=c),
        rng.normal(size=c),
        rng.normal(size=c),
        rng.uniform(0.5, 2, size=c),
        activation=act,
    )
    if len(shape) == 1:
        dense = Dense(f"d{k}", rng.normal(size=(c, c)) / np.sqrt(c), rng.normal(size=c), act)
        return [dense, norm][int(rng.integers(0, 2))]
    kernel = int(rng.choice([1, 3]))
    choices: list[Op] = [
        Conv2d(
            f"c{k}",
            rng.normal(size=(c, c, kernel, kernel)) / kernel,
            rng.normal(size=c),
            (1, 1),
            (kernel // 2,) * 2,
            act,
        ),  # type: ignore[arg-type]
        norm,
        MaxPool2d(f"m{k}", (3, 3), (1, 1), (1, 1), act),
        AvgPool2d(f"a{k}", (3, 3), (1, 1), (1, 1), act),
    ]
    return choices[int(rng.integers(0, len(choices)))]


def random_block(rng: np.random.Generator, shape: tuple[int, ...]) -> Residual:
    inner = [shape_keeping_op(rng, shape, k) for k in range(int(rng.integers(1, 4)))]
    return Residual("res", inner, ACTIVATIONS[str(rng.choice(ELEMENTWISE))])


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_residual_matches_torch_and_differences(seed: int, image: bool) -> None:
    rng = np.random.default_rng(seed)
    shape = (
        (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        if image
        else (int(rng.integers(1, 5)),)
    )
    block = random_block(rng, shape)
    x = rng.normal(size=(int(rng.integers(2, 5)), *shape))
    assert block.out_shape(shape) == shape
    assert_op_matches_torch(block, x, rng)
    assert_op_matches_differences(block, x, rng)


def test_the_skip_adds_its_gradient() -> None:
    """With inner ops that output 0 whatever x is, z = x: ∂L/∂x is the skip's ∂L/∂z alone; the
    inner path's gradient is added to it, not put in its place."""
    zero = Dense("d", np.zeros((2, 2)), np.zeros(2))
    block = Residual("r", [zero])
    x = np.array([[1.0, -2.0]])
    cache = block.forward(x)
    assert cache.a.tolist() == x.tolist()
    d_x, grads = block.backward(np.array([[3.0, 4.0]]), cache)
    assert d_x.tolist() == [[3.0, 4.0]]
    assert grads["0.weight"].tolist() == [[3.0, -6.0], [4.0, -8.0]]
    twice = Residual("r", [Dense("d", np.eye(2), np.zeros(2))])
    d_x, _ = twice.backward(np.array([[3.0, 4.0]]), twice.forward(x))
    assert d_x.tolist() == [[6.0, 8.0]]  # inner path (identity) + skip


def test_tensor_names_and_buffers_are_the_inner_ops() -> None:
    rng = np.random.default_rng(1)
    norm = BatchNorm("bn", np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    block = Residual("r", [Dense("d", rng.normal(size=(2, 2)), np.zeros(2)), norm])
    assert block.tensor_names() == {"0.weight": "W_d", "0.bias": "b_d", "1.weight": "gamma_bn", "1.bias": "beta_bn"}
    cache = block.forward(rng.normal(size=(3, 2)))
    assert set(cache.buffers) == {"1.running_mean", "1.running_var"}
    moved = block.with_params({"1.bias": np.ones(2)}, cache.buffers)
    assert moved.inner[1].bias.tolist() == [1.0, 1.0]  # type: ignore[attr-defined]
    assert np.array_equal(moved.inner[1].running_mean, cache.buffers["1.running_mean"])  # type: ignore[attr-defined]


def test_inner_ops_that_change_the_shape_are_refused() -> None:
    block = Residual("r1", [Dense("d", np.zeros((3, 2)), np.zeros(3))])
    with pytest.raises(ChainruleError, match=r"^layer r1: expected inner layers that keep the shape \[2\], got \[3\]$"):
        block.out_shape((2,))
