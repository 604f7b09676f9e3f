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

pytestmark = pytest.mark.usefixtures("torch_float64")  # the torch mirrors compute in float64


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


@given(st.integers(0, 2**32 - 1), st.sampled_from(["dense", "conv"]), st.integers(2, 5))
def test_a_bias_just_before_batch_norm_has_gradient_zero_not_float_noise(seed: int, kind: str, n: int) -> None:
    """Batch norm does not change when every input of a channel moves alike, so the bias of the
    identity layer before it has gradient 0 on paper; float64 left 10⁻¹⁷ there (and the update
    showed θ − η·1.1×10⁻¹⁶). (That the other gradients stay torch's is test_model_mixed's.)"""
    from chainrule.engine.layers.conv import Conv2d
    from chainrule.engine.layers.dense import Dense
    from chainrule.engine.layers.flatten import Flatten
    from chainrule.engine.losses import LOSSES
    from chainrule.engine.model import Model

    rng = np.random.default_rng(seed)
    w = lambda *shape: rng.uniform(-1, 1, shape).round(2)  # noqa: E731
    act = ACTIVATIONS["identity"]
    if kind == "dense":
        first, shape, width = Dense("h", w(3, 2), w(3), act), (2,), 3
        norm = BatchNorm("bn", w(3), w(3), np.zeros(3), np.ones(3), activation=ACTIVATIONS["tanh"])
        ops = [first, norm]
    else:
        first, shape = Conv2d("c", w(2, 1, 2, 2), w(2), (1, 1), (0, 0), act), (1, 3, 3)
        norm = BatchNorm("bn", w(2), w(2), np.zeros(2), np.ones(2), activation=ACTIVATIONS["tanh"])
        ops, width = [first, norm, Flatten("f")], 8
    ops.append(Dense("out", w(2, width), w(2), ACTIVATIONS["identity"]))
    x = rng.uniform(-1, 1, (n, *shape)).round(1)
    model = Model("bn", shape, ops, LOSSES["half_squared_error"], x, rng.uniform(-1, 1, (n, 2)).round(1))
    back = model.backward(model.forward(model.x), model.y)
    assert np.array_equal(back.d_params[0]["bias"], np.zeros_like(back.d_params[0]["bias"]))
