"""Random shaped networks of every op (conv2d, pooling, batchnorm, residual, flatten, dense) with
every loss: the batch loss, every gradient and two steps of every optimizer equal PyTorch's
(autograd, torch.optim, and batchnorm's running statistics after the update)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.base import Op
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.flatten import Flatten
from chainrule.engine.layers.norm import BatchNorm
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d
from chainrule.engine.layers.residual import Residual
from chainrule.engine.model import Model
from chainrule.engine.network import Training
from chainrule.engine.optimizers import OPTIMIZERS, Settings
from chainrule.errors import ChainruleError
from shaped import ELEMENTWISE, TARGETS, assert_close, targets, torch_batch_loss, torch_model, torch_parameters

seeds = st.integers(0, 2**32 - 1)


def _pair(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def feature_op(rng: np.random.Generator, shape: tuple[int, ...], k: int) -> Op:
    """One random op on a feature map (C, H, W), with an odd name and a random activation."""
    act = ACTIVATIONS[str(rng.choice(ELEMENTWISE))]
    c = shape[0]
    kind = str(rng.choice(["conv", "max", "avg", "norm", "residual"]))
    if kind == "conv":
        out, kernel = int(rng.integers(1, 4)), _pair(rng, 1, 3)
        weight = rng.normal(size=(out, c, *kernel)) / np.sqrt(c * kernel[0] * kernel[1])
        return Conv2d(f"conv {k}", weight, rng.normal(size=out), _pair(rng, 1, 2), _pair(rng, 0, 1), act)
    if kind in ("max", "avg"):
        kernel = _pair(rng, 1, 3)
        pool = MaxPool2d if kind == "max" else AvgPool2d
        return pool(f"pööl{k}", kernel, _pair(rng, 1, 2), (kernel[0] // 2, 0), act)
    norm = BatchNorm(f"bn_{k}", rng.normal(size=c), rng.normal(size=c), rng.normal(size=c), rng.uniform(0.5, 2, size=c))
    if kind == "norm":
        return replace(norm, activation=act)
    conv = Conv2d(f"inner{k}", rng.normal(size=(c, c, 3, 3)) / (3 * c), rng.normal(size=c), (1, 1), (1, 1), act)
    return Residual(f"res{k}", [conv, norm], act)


def random_model(rng: np.random.Generator, loss: str, reduction: str, optimizer: str = "sgd") -> Model:
    """1–3 random feature-map ops, a flatten, 0–2 hidden dense layers (a 1-D batchnorm at times),
    and the output layer with the activation its loss expects."""
    shape: tuple[int, ...] = (int(rng.integers(1, 4)), *_pair(rng, 3, 7))
    input_shape, ops = shape, []
    for k in range(int(rng.integers(1, 4))):
        op = feature_op(rng, shape, k)
        try:
            shape = op.out_shape(shape)
        except ChainruleError:  # the map got too small for this kernel: leave the op out
            continue
        ops.append(op)
    ops.append(Flatten("flat"))
    fan_in = int(np.prod(shape))
    for k in range(int(rng.integers(0, 3))):
        units = int(rng.integers(1, 6))
        ops.append(
            Dense(
                f"h{k}",
                rng.normal(size=(units, fan_in)) / np.sqrt(fan_in),
                rng.normal(size=units),
                ACTIVATIONS[str(rng.choice(ELEMENTWISE))],
            )
        )
        if rng.integers(0, 2):
            ops.append(
                BatchNorm(f"bn1d{k}", rng.normal(size=units), rng.normal(size=units), np.zeros(units), np.ones(units))
            )
        fan_in = units
    outputs = int(rng.integers(2, 5))
    ops.append(
        Dense(
            "out",
            rng.normal(size=(outputs, fan_in)) / np.sqrt(fan_in),
            rng.normal(size=outputs),
            ACTIVATIONS[TARGETS[loss]],
        )
    )
    n = int(rng.integers(2, 6))
    x = rng.normal(size=(n, *input_shape))
    training = Training(learning_rate=0.05, reduction=reduction, optimizer=Settings(optimizer))  # type: ignore[arg-type]
    return Model("mixed", input_shape, ops, LOSSES[loss], x, targets(rng, loss, n, outputs), training)


@settings(max_examples=25)
@given(seeds, st.sampled_from(sorted(TARGETS)), st.sampled_from(["sum", "mean"]))
def test_random_shaped_models_match_torch(seed: int, loss: str, reduction: str) -> None:
    rng = np.random.default_rng(seed)
    model = random_model(rng, loss, reduction)
    fwd = model.forward(model.x)
    back = model.backward(fwd, model.y)
    reference = torch_model(model.ops)
    expected = torch_batch_loss(reference, loss, model.x, model.y, reduction)
    expected.backward()
    assert abs(back.loss - expected.item()) <= 1e-10 * max(1.0, abs(expected.item()))
    assert model.shapes()[1:] == [tuple(c.a.shape[1:]) for c in fwd.caches]
    named = torch_parameters(reference, model.ops)
    assert set(model.gradients(back)) == set(named) == set(model.parameters())
    for name, grad in model.gradients(back).items():
        assert named[name].grad is not None
        assert_close(grad, named[name].grad.numpy())


def torch_optimizer(s: Settings, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if s.name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if s.name == "sgd" else s.momentum
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=s.name == "nesterov")
    if s.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=s.rho, eps=s.eps)
    return torch.optim.Adam(params, lr=lr, betas=(s.beta1, s.beta2), eps=s.eps)


@settings(max_examples=10)
@given(seeds, st.sampled_from(OPTIMIZERS), st.sampled_from(sorted(TARGETS)))
def test_steps_match_torch_optim_and_running_statistics(seed: int, optimizer: str, loss: str) -> None:
    """Two steps of each optimizer (odd constants): every parameter equals torch.optim's to 1e-10,
    and the running statistics the updated model keeps give torch's prediction-mode outputs."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, loss, "mean", optimizer)
    # ε well above rounding: a bias before a batchnorm has ∂L/∂b = 0 exactly in theory and ~1e-16 in
    # float64 (in torch too, by other roundings), which RMSProp and Adam divide by √s ≈ |g|.
    constants = Settings(optimizer, momentum=0.6, beta1=0.85, beta2=0.99, rho=0.95, eps=1e-4)
    model = replace(model, training=replace(model.training, optimizer=constants))
    reference = torch_model(model.ops)
    named = torch_parameters(reference, model.ops)
    step = torch_optimizer(constants, list(named.values()), model.training.learning_rate)
    for _ in range(2):
        model = model.updated(model.backward(model.forward(model.x), model.y))
        step.zero_grad()
        torch_batch_loss(reference, loss, model.x, model.y, "mean").backward()
        step.step()
    for name, value in model.parameters().items():
        assert_close(value, named[name].detach().numpy())
    reference.eval()
    with torch.no_grad():
        predicted = reference(torch.tensor(model.x)).numpy()
    assert_close(model.forward(model.x, training=False).output, predicted)
