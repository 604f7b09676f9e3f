"""The shaped-network engine (engine.model.Model) with dense and flatten ops: forward, backward and
every optimizer's update against PyTorch autograd and torch.optim in float64, over random models."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.flatten import Flatten
from chainrule.engine.model import Model
from chainrule.engine.network import Layer, Network, Training
from chainrule.engine.optimizers import OPTIMIZERS, Settings
from shaped import (
    ELEMENTWISE,
    TARGETS,
    assert_close,
    assert_op_matches_differences,
    assert_op_matches_torch,
    targets,
    torch_batch_loss,
    torch_model,
    torch_parameters,
)

seeds = st.integers(0, 2**32 - 1)


def dense(rng: np.random.Generator, name: str, fan_in: int, units: int, activation: str, bias: bool = True) -> Dense:
    weight = rng.normal(size=(units, fan_in)) / np.sqrt(fan_in)
    b = rng.normal(size=units) if bias else np.zeros(0)
    return Dense(name, weight, b, ACTIVATIONS[activation])


@settings(max_examples=40)
@given(seeds, st.sampled_from([*ELEMENTWISE, "softmax"]), st.booleans())
def test_dense_matches_torch_and_differences(seed: int, activation: str, bias: bool) -> None:
    rng = np.random.default_rng(seed)
    fan_in, units, n = (int(v) for v in rng.integers(1, 6, size=3))
    op = dense(rng, "h", fan_in, units, activation, bias)
    x = rng.normal(size=(n, fan_in))
    assert_op_matches_torch(op, x, rng)
    assert_op_matches_differences(op, x, rng)


def test_flatten_is_pytorch_row_major_order() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    cache = Flatten("f").forward(x)
    assert np.array_equal(cache.a, torch.nn.Flatten()(torch.tensor(x)).numpy())
    assert cache.a[1, 1 * 20 + 2 * 5 + 3] == x[1, 1, 2, 3]  # channel, then row, then column
    d_x, grads = Flatten("f").backward(cache.a, cache)
    assert np.array_equal(d_x, x) and grads == {}


def random_model(rng: np.random.Generator, loss: str, reduction: str, optimizer: str = "sgd") -> Model:
    """1–4 hidden dense layers with odd names and random activations, after a flatten of an image
    input half of the time; the output layer's activation the one its loss expects."""
    image = bool(rng.integers(0, 2))
    shape: tuple[int, ...] = tuple(int(v) for v in rng.integers(1, 4, size=3)) if image else (int(rng.integers(1, 6)),)
    ops: list = [Flatten("flat tened")] if image else []
    fan_in = int(np.prod(shape))
    for k in range(int(rng.integers(1, 5))):
        units = int(rng.integers(1, 6))
        ops.append(dense(rng, f"h{k}_ü", fan_in, units, str(rng.choice(ELEMENTWISE)), bool(rng.integers(0, 4))))
        fan_in = units
    outputs = int(rng.integers(2, 5))
    ops.append(dense(rng, "out", fan_in, outputs, TARGETS[loss]))
    n = int(rng.integers(1, 6))
    x = rng.normal(size=(n, *shape))
    training = Training(learning_rate=0.1, reduction=reduction, optimizer=Settings(optimizer))  # type: ignore[arg-type]
    return Model("random", shape, ops, LOSSES[loss], x, targets(rng, loss, n, outputs), training)


@settings(max_examples=40)
@given(seeds, st.sampled_from(sorted(TARGETS)), st.sampled_from(["sum", "mean"]))
def test_random_models_match_torch(seed: int, loss: str, reduction: str) -> None:
    rng = np.random.default_rng(seed)
    model = random_model(rng, loss, reduction)
    fwd = model.forward(model.x)
    back = model.backward(fwd, model.y)
    reference = torch_model(model.ops)
    torch_loss = torch_batch_loss(reference, loss, model.x, model.y, reduction)
    torch_loss.backward()
    assert abs(back.loss - torch_loss.item()) <= 1e-10 * max(1.0, abs(torch_loss.item()))
    assert_close(fwd.output, reference(torch.tensor(model.x)).detach().numpy())
    ours, theirs = model.gradients(back), torch_parameters(reference, model.ops)
    assert set(ours) == set(theirs) and len(ours) == len(model.parameters())
    for name, grad in ours.items():
        assert theirs[name].grad is not None
        assert_close(grad, theirs[name].grad.numpy())
    assert model.shapes() == [model.input_shape, *(tuple(c.a.shape[1:]) for c in fwd.caches)]


def torch_optimizer(settings_: Settings, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    s = settings_
    if s.name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if s.name == "sgd" else s.momentum
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=s.name == "nesterov")
    if s.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=s.rho, eps=s.eps)
    return torch.optim.Adam(params, lr=lr, betas=(s.beta1, s.beta2), eps=s.eps)


@settings(max_examples=10)
@given(seeds, st.sampled_from(OPTIMIZERS), st.sampled_from(sorted(TARGETS)))
def test_updates_match_torch_optim(seed: int, optimizer: str, loss: str) -> None:
    """Three steps (so the optimizer's state carries over) with each optimizer and odd constants."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, loss, "mean", optimizer)
    constants = Settings(optimizer, momentum=0.7, beta1=0.8, beta2=0.95, rho=0.9, eps=1e-6)
    model = replace(model, training=replace(model.training, optimizer=constants))
    reference = torch_model(model.ops)
    named = torch_parameters(reference, model.ops)
    step = torch_optimizer(constants, list(named.values()), model.training.learning_rate)
    for _ in range(3):
        model = model.updated(model.backward(model.forward(model.x), model.y))
        step.zero_grad()
        torch_batch_loss(reference, loss, model.x, model.y, "mean").backward()
        step.step()
    assert model.steps_taken == 3
    for name, value in model.parameters().items():
        assert_close(value, named[name].detach().numpy(), 1e-12)


def test_update_leaves_the_model_unchanged_and_skips_frozen_tensors() -> None:
    rng = np.random.default_rng(3)
    model = random_model(rng, "mse", "sum", "momentum")
    names = list(model.parameters())
    element = names[0] + "[1" + ",1" * (model.parameters()[names[0]].ndim - 1) + "]"
    model = replace(model, training=replace(model.training, freeze=(names[-1], element)))
    before = {name: value.copy() for name, value in model.parameters().items()}
    new = model.updated(model.backward(model.forward(model.x), model.y))
    for name, value in model.parameters().items():
        assert np.array_equal(value, before[name])
    after = new.parameters()
    assert np.array_equal(after[names[-1]], before[names[-1]])
    assert np.array_equal(new.optimizer_state[names[-1]]["v"], np.zeros_like(before[names[-1]]))
    assert after[names[0]].flat[0] == before[names[0]].flat[0]
    assert not np.array_equal(after[names[0]], before[names[0]])


@settings(max_examples=20)
@given(seeds, st.sampled_from(sorted(TARGETS)), st.sampled_from(["sum", "mean"]))
def test_dense_model_equals_the_network_engine(seed: int, loss: str, reduction: str) -> None:
    """A model of dense ops is the same network as `Network`: the same loss and gradients to 1e-12."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, loss, reduction)
    if model.ops[0].kind == "flatten":
        model = replace(model, ops=model.ops[1:], input_shape=(model.x[0].size,), x=model.x.reshape(len(model.x), -1))
    layers = [
        Layer(
            op.name,
            op.activation,
            op.weight,
            op.bias,
            "neuron" if op.bias.size else "none",
            [f"{op.name}{j}" for j in range(op.units)],
            0,
            [f"b{op.name}{j}" for j in range(op.bias.size)],
            np.array([op.activation.alpha]) if op.activation.alpha is not None else np.zeros(0),
        )
        for op in model.ops
    ]
    net = Network([f"x{i}" for i in range(model.input_shape[0])], layers, model.loss, model.training, model.x, model.y)
    back, net_back = model.backward(model.forward(model.x), model.y), net.backward(net.forward(net.x), net.y)
    assert abs(back.loss - net.batch_loss(net.forward(net.x), net.y)) <= 1e-12 * max(1.0, abs(back.loss))
    for i in range(len(model.ops)):
        assert_close(back.d_params[i]["weight"], net_back.d_weight[i], 1e-12)
        assert_close(back.d_z[i], net_back.d_z[i], 1e-12)


@settings(max_examples=30)
@given(seeds, st.sampled_from(OPTIMIZERS))
def test_frozen_names_never_move_and_the_rest_move_as_unfrozen(seed: int, optimizer: str) -> None:
    """Random whole tensors and single elements frozen: they stay, their optimizer state stays 0,
    and every other element takes exactly the step it takes when nothing is frozen."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, "mse", "mean", optimizer)
    params = model.parameters()
    frozen: list[str] = [name for name in params if rng.random() < 0.3]
    cells: dict[str, list[tuple[int, ...]]] = {}
    for name, value in params.items():
        index = tuple(int(rng.integers(0, n)) for n in value.shape)
        cells.setdefault(name, []).append(index)
        frozen.append(name + "[" + ",".join(str(i + 1) for i in index) + "]")
    stuck = replace(model, training=replace(model.training, freeze=tuple(frozen)))
    free = model.updated(model.backward(model.forward(model.x), model.y))
    for step in range(2):
        stuck = stuck.updated(stuck.backward(stuck.forward(stuck.x), stuck.y))
        for name, value in stuck.parameters().items():
            still = np.full(value.shape, name in frozen)
            for index in cells[name]:
                still[index] = True
            assert np.array_equal(value[still], params[name][still])
            for slot in stuck.optimizer_state.get(name, {}).values():
                assert not slot[still].any()
            if step == 0:  # the same gradients as the free model's first step: the same moves
                assert np.array_equal(value[~still], free.parameters()[name][~still])
