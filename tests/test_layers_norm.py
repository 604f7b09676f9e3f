"""BatchNorm (1-D and 2-D, training and prediction mode) against PyTorch autograd and finite
differences, its running statistics against PyTorch's, and its three backward paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.layers.norm import BatchNorm
from chainrule.errors import ChainruleError
from shaped import ELEMENTWISE, assert_close, assert_op_matches_differences, assert_op_matches_torch, torch_module


@st.composite
def batchnorms(draw: st.DrawFn) -> tuple[BatchNorm, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels = draw(st.integers(1, 4))
    spatial = draw(st.sampled_from([(), (3,), (2, 3), (1, 1), (4, 2)]))
    n = draw(st.integers(1 if spatial and np.prod(spatial) > 1 else 2, 5))
    op = BatchNorm(
        "bn",
        rng.normal(size=channels),
        rng.normal(size=channels),
        rng.normal(size=channels),
        rng.uniform(0.5, 2.0, size=channels),
        momentum=draw(st.sampled_from([0.1, 0.3])),
        activation=ACTIVATIONS[draw(st.sampled_from(ELEMENTWISE))],
    )
    x = rng.normal(size=(n, channels, *spatial)) * rng.uniform(0.5, 3) + rng.normal()
    return op, x, rng


@settings(max_examples=60)
@given(batchnorms(), st.booleans())
def test_batchnorm_matches_torch(case: tuple[BatchNorm, np.ndarray, np.random.Generator], training: bool) -> None:
    op, x, rng = case
    assert_op_matches_torch(op, x, rng, training)


@settings(max_examples=30)
@given(batchnorms())
def test_batchnorm_matches_finite_differences(case: tuple[BatchNorm, np.ndarray, np.random.Generator]) -> None:
    op, x, rng = case
    assert_op_matches_differences(op, x, rng)


@settings(max_examples=30)
@given(batchnorms())
def test_running_statistics_follow_torch(case: tuple[BatchNorm, np.ndarray, np.random.Generator]) -> None:
    """running_var takes the unbiased variance, running_mean the mean, with the op's momentum;
    prediction mode leaves both alone."""
    op, x, _ = case
    module = torch_module(op)[0]
    module.train()
    module(torch.tensor(x))
    cache = op.forward(x)
    assert_close(cache.buffers["running_mean"], module.running_mean.numpy(), 1e-12)
    assert_close(cache.buffers["running_var"], module.running_var.numpy(), 1e-12)
    assert op.forward(x, training=False).buffers == {}


def test_the_three_paths_each_matter() -> None:
    """Leaving out the path through μ or through σ² (the classic slip) gives a wrong ∂L/∂x."""
    rng = np.random.default_rng(0)
    op = BatchNorm("bn", np.array([1.5, 0.5]), np.zeros(2), np.zeros(2), np.ones(2))
    x = rng.normal(size=(4, 2))
    cache = op.forward(x)
    d_z = rng.normal(size=x.shape)
    paths = op.paths(d_z, cache)
    assert set(paths) == {"direct", "mean", "variance"}
    d_x, _ = op.backward(d_z, cache)
    assert np.allclose(d_x, paths["direct"] + paths["mean"] + paths["variance"], rtol=0, atol=1e-15)
    for left_out in ("mean", "variance"):
        assert np.max(np.abs(paths[left_out])) > 1e-3
    assert np.allclose(d_x.sum(axis=0), 0.0, atol=1e-12)  # a mean-centred output's gradient sums to 0


def test_one_value_per_channel_cannot_train() -> None:
    op = BatchNorm("bn1", np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))
    with pytest.raises(ChainruleError, match=r"^layer bn1: expected more than one value per channel to train, got 1$"):
        op.forward(np.ones((1, 3)))
    assert op.forward(np.ones((1, 3)), training=False).a.shape == (1, 3)
